#!/usr/bin/env node
import { execFileSync, spawnSync } from 'node:child_process';
// Installs what `npm test` and `npm run demo` need and are missing, and says what it
// did: Debian packages (the container runtime, nftables, iproute2, the busybox the lab
// builds its task image from, protoc for the API check) and the npm dependencies.
// Idempotent: a second run installs nothing. Only Node built-ins here, since it runs
// before `npm ci`. Benchmarks install their own extra packages (etcd-server, wrk, ...).
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;

/** Debian packages and the command each one provides, to say why it is needed. */
const DEBIAN_PACKAGES = [
  ['docker.io', 'dockerd: the container runtime of every lab node'],
  ['nftables', 'nft: the routing mesh backend'],
  ['iproute2', 'ip: namespaces, veth, bridges, VXLAN'],
  ['conntrack', 'conntrack: flushing NAT state of the routing mesh'],
  ['iputils-ping', 'ping: reachability checks in the lab'],
  ['busybox-static', "busybox: the lab's task image"],
  ['protobuf-compiler', 'protoc: checks the generated API code is up to date'],
];

function log(message) {
  process.stderr.write(`setup: ${message}\n`);
}

function isInstalled(pkg) {
  // biome-ignore lint/suspicious/noTemplateCurlyInString: dpkg-query's own format syntax
  const result = spawnSync('dpkg-query', ['-W', '-f=${Status}', pkg], { encoding: 'utf8' });
  return result.status === 0 && result.stdout.includes('install ok installed');
}

function installDebianPackages() {
  if (!existsSync('/usr/bin/dpkg-query')) {
    log(`not a Debian system: install by hand: ${DEBIAN_PACKAGES.map(([p]) => p).join(' ')}`);
    return;
  }
  const missing = DEBIAN_PACKAGES.filter(([pkg]) => !isInstalled(pkg));
  if (missing.length === 0) {
    log('Debian packages: all present');
    return;
  }
  if (process.getuid?.() !== 0) {
    log(
      `Error: missing Debian packages ${missing.map(([p]) => p).join(' ')}; run as root to install them`,
    );
    process.exit(1);
  }
  for (const [pkg, why] of missing) log(`installing ${pkg} (${why})`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  execFileSync('apt-get', ['update', '-qq'], { stdio: ['ignore', 'ignore', 'inherit'], env });
  execFileSync('apt-get', ['install', '-y', '-qq', ...missing.map(([p]) => p)], {
    stdio: ['ignore', 'ignore', 'inherit'],
    env,
  });
  log(`installed ${missing.map(([p]) => p).join(' ')}`);
}

function installNpmDependencies() {
  const lock = readFileSync(join(root, 'package-lock.json'));
  const digest = createHash('sha256').update(lock).digest('hex');
  const stamp = join(root, 'node_modules', '.shoal-lock-digest');
  if (existsSync(stamp) && readFileSync(stamp, 'utf8') === digest) {
    log('npm dependencies: up to date');
    return;
  }
  log('installing npm dependencies (npm ci)');
  execFileSync('npm', ['ci', '--no-audit', '--no-fund', '--loglevel=error'], {
    cwd: root,
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  writeFileSync(stamp, digest);
  log('npm dependencies installed');
}

installDebianPackages();
installNpmDependencies();
