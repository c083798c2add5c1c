// The dispatcher's two log RPCs on the leader, over the broker: LogSubscriptions (the
// broker's requests down to one node) and PublishLogs (that node's lines up).
import type * as grpc from '@grpc/grpc-js';
import type { pb } from '@shoal/api';
import type { Logger } from 'pino';
import type { LogBroker } from './log-broker.js';

/** What ends a node's LogSubscriptions stream: its session (see SessionStream.attach). */
export interface LogSubscriptionsChild {
  close(error?: unknown): void;
}

/**
 * Serves one node's LogSubscriptions stream until the node cancels it or `close` is
 * called (the session ended). Subscriptions are small and rare, so a full stream
 * buffers them in grpc-js rather than dropping any.
 */
export function serveLogSubscriptions(
  call: grpc.ServerWritableStream<pb.LogSubscriptionsRequest, pb.LogSubscription>,
  options: {
    broker: LogBroker;
    nodeId: string;
    end: (error?: unknown) => void;
    onClose: () => void;
  },
): LogSubscriptionsChild {
  let isClosed = false;
  const detach = options.broker.attachNode(options.nodeId, (subscription) => {
    if (!isClosed) call.write(subscription);
  });
  const child: LogSubscriptionsChild = {
    close(error?: unknown) {
      if (isClosed) return;
      isClosed = true;
      detach();
      options.onClose();
      options.end(error);
    },
  };
  call.on('cancelled', () => child.close());
  call.on('error', () => child.close());
  return child;
}

/**
 * Serves one PublishLogs stream: every message must name `sessionId` (checked by
 * `checkSession`, which throws to refuse). The stream is paused while the broker waits
 * for a slow subscriber, so HTTP/2 flow control slows the node down (STYLE 21).
 */
export function servePublishLogs(
  call: grpc.ServerReadableStream<pb.PublishLogsMessage, pb.PublishLogsResponse>,
  callback: grpc.sendUnaryData<pb.PublishLogsResponse>,
  options: {
    broker: LogBroker;
    nodeId: string;
    checkSession: (sessionId: string) => void;
    toStatus: (error: unknown) => Partial<grpc.ServiceError>;
    log: Logger;
  },
): void {
  let chain = Promise.resolve();
  let isDone = false;
  const fail = (error: unknown) => {
    if (isDone) return;
    isDone = true;
    options.log.debug({ err: error, nodeId: options.nodeId }, 'log publication refused');
    callback(options.toStatus(error));
  };
  call.on('data', (message: pb.PublishLogsMessage) => {
    call.pause();
    chain = chain
      .then(async () => {
        if (isDone) return;
        options.checkSession(message.sessionId);
        await options.broker.publish(options.nodeId, message);
      })
      .catch(fail)
      .finally(() => {
        if (!isDone) call.resume();
      });
  });
  call.on('end', () => {
    void chain.then(() => {
      if (isDone) return;
      isDone = true;
      callback(null, {});
    });
  });
  call.on('error', () => {
    isDone = true;
  });
}
