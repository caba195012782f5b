'use strict';
// The benchmark server for wsapi-client (started by benchmarks/run.py; not a product component).
//
// Loopback only, port 0; prints one JSON line {"ready":true,"port":N,...} on stdout once listening
// and exits when stdin closes or on SIGTERM, so it never outlives the harness.
//
// Two kinds of connection:
//   /bench/<session>  a contender's connection. Every text frame is counted for the session;
//                     with echo on, the message comes back with the same payload under echo_route.
//   /control          the harness's JSON request/response channel (see `handlers` below). Every
//                     request carries an "id" that its response repeats; some responses come later
//                     (wait_count, wait_accept), so several may be outstanding at once.
//
// Times are the server's CLOCK_MONOTONIC in seconds (process.hrtime), the same clock as Python's
// time.monotonic() on Linux, so the harness can compare them with its own readings.

const http = require('http');
const { WebSocketServer } = require('ws');
const wsVersion = require('ws/package.json').version;

const now = () => Number(process.hrtime.bigint()) / 1e9;

const sessions = new Map();

function session(name) {
  let s = sessions.get(name);
  if (!s) {
    s = {
      conns: new Set(), count: 0, bytes: 0, echo: false, echoRoute: 'SendGreeting', echoRename: null,
      fragment: 0, greet: false, refuse: false, countWaiters: [], acceptWaiters: [],
      tAccept: null, tFirst: null, tLast: null, accepted: 0,
    };
    sessions.set(name, s);
  }
  return s;
}

// The reply to an echoed message: its payload under another route. Without renames the payload is
// kept byte for byte (no JSON round trip); with `rename` ({"name": "greeting"}) its keys are renamed,
// so that a typed client's request model and reply model can differ.
const PAYLOAD_MARK = ',"payload":';
function echoText(text, route, rename) {
  if (rename) {
    const payload = JSON.parse(text).payload || {};
    const out = {};
    for (const [key, value] of Object.entries(payload)) out[rename[key] || key] = value;
    return JSON.stringify({ route, payload: out });
  }
  const at = text.indexOf(PAYLOAD_MARK);
  return at < 0 ? `{"route":"${route}"}` : `{"route":"${route}"${text.slice(at)}`;
}

function sendFragmented(ws, text, fragment) {
  if (!fragment || text.length <= fragment) {
    ws.send(text);
    return;
  }
  const data = Buffer.from(text);
  for (let at = 0; at < data.length; at += fragment) {
    const end = Math.min(at + fragment, data.length);
    ws.send(data.subarray(at, end), { binary: false, fin: end === data.length });
  }
}

function onBenchMessage(s, ws, data, isBinary) {
  const t = now();
  s.count += 1;
  s.bytes += data.length;
  if (s.tFirst === null) s.tFirst = t;
  s.tLast = t;
  if (s.countWaiters.length) {
    s.countWaiters = s.countWaiters.filter((w) => {
      if (s.count < w.n) return true;
      w.reply({ count: s.count, bytes: s.bytes, t_reached: t, t_first: s.tFirst });
      return false;
    });
  }
  if (s.echo && !isBinary) sendFragmented(ws, echoText(data.toString(), s.echoRoute, s.echoRename), s.fragment);
}

function smallMessage(route, i) {
  return `{"route":"${route}","payload":{"topic":"bench","title":"t","message":"m${i}"}}`;
}

function largeMessage(route, size, i) {
  // A payload of exactly `size` bytes of JSON text in total (at least its fixed part).
  const head = `{"route":"${route}","payload":{"greeting":"g${i}","name":"`;
  const tail = '"}}';
  return head + 'x'.repeat(Math.max(0, size - head.length - tail.length)) + tail;
}

// Write n messages, yielding to the event loop whenever the socket asks to drain.
function blast(ws, req, done) {
  const { n, route = 'SendNotification', size = 0, fragment = 0 } = req;
  const tStart = now();
  let i = 0;
  const socket = ws._socket;
  // Corked batches: one writev per BATCH frames instead of one write each.
  const BATCH = 256;
  const pump = () => {
    while (i < n) {
      if (ws.readyState !== ws.OPEN) {
        done({ error: 'connection closed during blast', sent: i });
        return;
      }
      socket.cork();
      const end = Math.min(n, i + BATCH);
      for (; i < end; i += 1) {
        sendFragmented(ws, size ? largeMessage(route, size, i) : smallMessage(route, i), fragment);
      }
      socket.uncork();
      if (socket.writableNeedDrain) {
        socket.once('drain', pump);
        return;
      }
    }
    done({ sent: n, t_start: tStart, t_done: now() });
  };
  pump();
}

function latestConn(s) {
  let last = null;
  for (const c of s.conns) last = c;
  return last;
}

const handlers = {
  config(req, reply) {
    const s = session(req.session);
    for (const [key, field] of [['echo', 'echo'], ['echo_route', 'echoRoute'], ['echo_rename', 'echoRename'],
      ['fragment', 'fragment'], ['greet', 'greet']]) {
      if (key in req) s[field] = req[key];
    }
    reply({});
  },
  reset(req, reply) {
    const s = session(req.session);
    s.count = 0; s.bytes = 0; s.tFirst = null; s.tLast = null;
    reply({});
  },
  count(req, reply) {
    const s = session(req.session);
    reply({ count: s.count, bytes: s.bytes, t_first: s.tFirst, t_last: s.tLast, conns: s.conns.size });
  },
  wait_count(req, reply) {
    const s = session(req.session);
    if (s.count >= req.n) reply({ count: s.count, bytes: s.bytes, t_reached: s.tLast, t_first: s.tFirst });
    else s.countWaiters.push({ n: req.n, reply });
  },
  // Answers at the next accepted connection of the session after this request.
  wait_accept(req, reply) {
    session(req.session).acceptWaiters.push(reply);
  },
  blast(req, reply) {
    const ws = latestConn(session(req.session));
    if (!ws) reply({ error: `no connection for session ${req.session}` });
    else blast(ws, req, reply);
  },
  // Close the session's TCP connections without a closing handshake, as a network drop would.
  drop(req, reply) {
    const s = session(req.session);
    const t = now();
    const dropped = s.conns.size;
    for (const ws of s.conns) ws._socket.destroy();
    reply({ t_drop: t, dropped });
  },
  // While on, upgrades for the session are refused with 503 (an outage); `drop` ends the current one.
  outage(req, reply) {
    session(req.session).refuse = Boolean(req.on);
    reply({ t: now() });
  },
  conns(req, reply) {
    let total = 0;
    for (const s of sessions.values()) total += s.conns.size;
    reply({ total });
  },
  forget(req, reply) {
    const s = sessions.get(req.session);
    if (s) for (const ws of s.conns) ws.terminate();
    sessions.delete(req.session);
    reply({});
  },
  now(req, reply) {
    reply({ t: now() });
  },
};

function onControl(ws) {
  ws.on('message', (data) => {
    let req;
    try {
      req = JSON.parse(data.toString());
    } catch (err) {
      ws.send(JSON.stringify({ error: `bad control request: ${err.message}` }));
      return;
    }
    const reply = (body) => {
      if (ws.readyState === ws.OPEN) ws.send(JSON.stringify({ id: req.id, ...body }));
    };
    const handler = handlers[req.op];
    if (!handler) reply({ error: `unknown op ${JSON.stringify(req.op)}` });
    else handler(req, reply);
  });
}

const server = http.createServer((req, res) => {
  res.writeHead(404);
  res.end();
});
const wss = new WebSocketServer({ noServer: true, perMessageDeflate: false, maxPayload: 64 * 2 ** 20 });

server.on('upgrade', (req, socket, head) => {
  const path = req.url.split('?')[0];
  if (path === '/control') {
    wss.handleUpgrade(req, socket, head, onControl);
    return;
  }
  const match = /^\/bench\/([A-Za-z0-9_.-]+)$/.exec(path);
  if (!match) {
    socket.end('HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n');
    return;
  }
  const s = session(match[1]);
  if (s.refuse) {
    socket.end('HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n\r\n');
    return;
  }
  wss.handleUpgrade(req, socket, head, (ws) => {
    const t = now();
    ws._socket.setNoDelay(true);
    s.conns.add(ws);
    s.accepted += 1;
    s.tAccept = t;
    const waiters = s.acceptWaiters;
    s.acceptWaiters = [];
    for (const reply of waiters) reply({ t_accept: t, accepted: s.accepted });
    ws.on('message', (data, isBinary) => onBenchMessage(s, ws, data, isBinary));
    ws.on('close', () => s.conns.delete(ws));
    ws.on('error', () => s.conns.delete(ws));
    if (s.greet) ws.send(smallMessage('SendNotification', -s.accepted));
  });
});

server.listen(0, '127.0.0.1', () => {
  const info = { ready: true, port: server.address().port, server: `node ${process.version} ws ${wsVersion}` };
  process.stdout.write(`${JSON.stringify(info)}\n`);
});

const stop = () => {
  for (const ws of wss.clients) ws.terminate();
  server.close();
  process.exit(0);
};
process.stdin.on('end', stop);
process.stdin.on('close', stop);
process.stdin.resume();
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
