#!/usr/bin/env node
// Generates packages/api/src/generated from proto/ with Debian's protoc and ts-proto.
// With --check it generates into a temporary folder and fails when the committed code
// differs, so CI catches a proto change without regenerated code.
import { execFileSync } from 'node:child_process';
import {
  cpSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const protoDir = join(root, 'proto');
const outDir = join(root, 'packages/api/src/generated');
const plugin = join(root, 'node_modules/.bin/protoc-gen-ts_proto');
const options = [
  'outputServices=grpc-js',
  'esModuleInterop=true',
  'importSuffix=.js',
  'useDate=true',
  'forceLong=number',
  'env=node',
  'useOptionals=messages',
  'oneof=unions',
  'outputTypeRegistry=false',
].join(',');

function listFiles(dir) {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? listFiles(path) : [path];
  });
}

function generate(into) {
  const protos = listFiles(protoDir)
    .filter((f) => f.endsWith('.proto'))
    .map((f) => relative(protoDir, f))
    .sort();
  try {
    execFileSync(
      'protoc',
      [
        `--plugin=protoc-gen-ts_proto=${plugin}`,
        `--ts_proto_out=${into}`,
        `--ts_proto_opt=${options}`,
        `-I${protoDir}`,
        '-I/usr/include',
        ...protos,
      ],
      { stdio: ['ignore', 'inherit', 'inherit'] },
    );
  } catch (error) {
    if (error.code === 'ENOENT') {
      console.error(
        "Error: protoc not found: run `npm run setup` (installs Debian's protobuf-compiler)",
      );
      process.exit(1);
    }
    throw error;
  }
}

const check = process.argv.includes('--check');
const temp = mkdtempSync(join(tmpdir(), 'shoal-gen-'));
try {
  generate(temp);
  if (check) {
    const want = listFiles(temp)
      .map((f) => relative(temp, f))
      .sort();
    const have = existsSync(outDir)
      ? listFiles(outDir)
          .map((f) => relative(outDir, f))
          .sort()
      : [];
    const stale = [...new Set([...want, ...have])].filter(
      (f) =>
        !want.includes(f) ||
        !have.includes(f) ||
        readFileSync(join(temp, f), 'utf8') !== readFileSync(join(outDir, f), 'utf8'),
    );
    if (stale.length > 0) {
      console.error(
        `Error: generated API code is out of date: ${stale.join(', ')}; run \`npm run gen\` and commit the result`,
      );
      process.exit(1);
    }
    console.error('generated API code is up to date');
  } else {
    rmSync(outDir, { recursive: true, force: true });
    cpSync(temp, outDir, { recursive: true });
    console.error(`generated ${listFiles(outDir).length} files into ${relative(root, outDir)}`);
  }
} finally {
  rmSync(temp, { recursive: true, force: true });
}
