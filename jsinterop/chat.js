// `node jsinterop/chat.js [--ca FILE] NAME [ROOM] [SERVER]`: a chat client on @grpc/grpc-js,
// for scripts and the interop matrix rather than for people: each stdin line is sent, each
// message received is one stdout line, and `/quit` or the end of stdin leaves the room.
//
//   [Bob]: hi                             a message someone wrote
//   *** Welcome, Ann! You are in room general.   a notice from the server
//   >>> Bob joined the room               someone joined or left
//
// Text from the network is printed with control and bidi characters escaped (text.js).
import readline from 'node:readline';
import grpc from '@grpc/grpc-js';
import { readPem, usageError } from './flags.js';
import { loadChat } from './protos.js';
import { sanitize } from './text.js';

const DEFAULT_ROOM = 'general';
const DEFAULT_SERVER = 'localhost:50053';
const Kind = { TEXT: 1, JOIN: 2, LEAVE: 3, SYSTEM: 4, HISTORY_START: 5, HISTORY_END: 6 };

const args = process.argv.slice(2);
let caFile = null;
if (args[0] === '--ca') {
  if (args.length < 2) usageError('--ca needs a file');
  caFile = args[1];
  args.splice(0, 2);
}
if (args.length < 1 || args.length > 3 || args.some((a) => a.startsWith('--'))) {
  usageError('usage: node jsinterop/chat.js [--ca FILE] NAME [ROOM] [SERVER]');
}
const [name, room = DEFAULT_ROOM, server = DEFAULT_SERVER] = args;
const credentials = caFile ? grpc.credentials.createSsl(await readPem(caFile, '--ca')) : grpc.credentials.createInsecure();

const client = new (loadChat().ChatService)(server, credentials);
const metadata = new grpc.Metadata();
metadata.set('chat-user', name);
metadata.set('chat-room', room);
const stream = client.ChatStream(metadata);

function show(message) {
  const text = sanitize(message.message);
  switch (message.kind) {
    case Kind.HISTORY_START:
    case Kind.HISTORY_END:
      return;
    case Kind.JOIN:
    case Kind.LEAVE:
      process.stdout.write(`>>> ${text}\n`);
      return;
    case Kind.SYSTEM:
      process.stdout.write(`*** ${text}\n`);
      return;
    default:
      process.stdout.write(`[${sanitize(message.user)}]: ${text}\n`);
  }
}

let leaving = false;
function leave() {
  if (leaving) return;
  leaving = true;
  stream.write({ kind: Kind.LEAVE });
  stream.end();
}

stream.on('data', show);
stream.on('error', (err) => {
  if (leaving && err.code === grpc.status.CANCELLED) return;
  process.stderr.write(`error: chat stream ended: ${grpc.status[err.code] ?? err.code}: ${err.details}\n`);
  process.exit(1);
});
stream.on('end', () => process.exit(0));

const input = readline.createInterface({ input: process.stdin, terminal: false });
input.on('line', (line) => {
  if (leaving) return;
  if (line.trim() === '/quit') leave();
  else if (line.length > 0) stream.write({ user: name, message: line });
});
input.on('close', leave);
