import type { Socket } from 'node:net';

/** A socket the server handed to an 'upgrade' listener. */
export interface UpgradedConnection {
  /** The client asked for a websocket (`Upgrade: websocket`), not another protocol. */
  websocket: boolean;
  /** socket.bytesWritten when the upgrade request came: more since means the handshake was answered. */
  bytesWrittenBefore: number;
}

interface ClosableWebsocket {
  close(code: number, reason: string): void;
}

const REASONS: Record<number, string> = { 1001: 'server going away', 1012: 'server restarting' };

/**
 * Tell an upgraded connection to close, politely: through the `ws` WebSocket that owns it when there is one
 * (it completes the close handshake), else with a websocket close frame written on the socket (any
 * websocket library's client answers it), else (not a websocket, or its handshake not answered) a TCP FIN.
 */
export function closeUpgraded(socket: Socket, upgrade: UpgradedConnection, code: number): void {
  const reason = REASONS[code] ?? '';
  const websocket = wsWebsocketOf(socket);
  if (websocket) websocket.close(code, reason);
  else if (!socket.writable) return;
  else if (upgrade.websocket && socket.bytesWritten > upgrade.bytesWrittenBefore) socket.write(closeFrame(code, reason));
  else socket.end();
}

/** `ws` keeps its WebSocket on the socket under a private symbol described "websocket" (ws 7 and 8). */
function wsWebsocketOf(socket: Socket): ClosableWebsocket | undefined {
  for (const symbol of Object.getOwnPropertySymbols(socket)) {
    if (symbol.description !== 'websocket') continue;
    const candidate = (socket as unknown as Record<symbol, unknown>)[symbol];
    if (typeof (candidate as Partial<ClosableWebsocket> | undefined)?.close === 'function') return candidate as ClosableWebsocket;
  }
  return undefined;
}

/** RFC 6455 section 5.5.1: FIN + opcode 0x8, unmasked (server to client), the 2-byte status code, then the reason. */
export function closeFrame(code: number, reason = ''): Buffer {
  const payload = Buffer.concat([Buffer.from([code >> 8, code & 0xff]), Buffer.from(reason, 'utf8')]);
  if (payload.length > 125) throw new RangeError('a close frame carries at most 125 bytes');
  return Buffer.concat([Buffer.from([0x88, payload.length]), payload]);
}
