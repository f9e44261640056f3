// A scripted mqtt.js client for the emulator's end-to-end tests. argv[2] is
// a JSON spec: {url, ca, cert, key, options, steps}. options go to
// mqtt.connect (protocolVersion, clientId, clean, properties, will...);
// steps run in order after CONNACK. Every event is printed as one JSON line.
'use strict';
const fs = require('fs');
const path = require('path');
const mqtt = require(path.join(process.env.MQTTJS_DIR, 'node_modules', 'mqtt'));

const spec = JSON.parse(process.argv[2]);
const print = (o) => process.stdout.write(JSON.stringify(o) + '\n');
const b64 = (b) => (b ? Buffer.from(b).toString('base64') : undefined);
const fromB64 = (s) => Buffer.from(s, 'base64');

function props(p) {
  if (!p) return undefined;
  const out = Object.assign({}, p);
  if (out.correlationData) out.correlationData = b64(out.correlationData);
  return out;
}

const opts = Object.assign({
  ca: fs.readFileSync(spec.ca), cert: fs.readFileSync(spec.cert), key: fs.readFileSync(spec.key),
  servername: 'localhost', reconnectPeriod: 0, connectTimeout: 10000,
}, spec.options || {});
if (opts.will && opts.will.properties && opts.will.properties.correlationData) {
  opts.will.properties.correlationData = fromB64(opts.will.properties.correlationData);
}
if (opts.will && typeof opts.will.payload === 'string') opts.will.payload = Buffer.from(opts.will.payload);

const client = mqtt.connect(spec.url, opts);
let received = 0;
let waiter = null;
client.on('connect', (ack) => print({ event: 'connack', sessionPresent: ack.sessionPresent, reasonCode: ack.reasonCode || 0, properties: props(ack.properties) }));
client.on('message', (topic, payload, packet) => {
  received++;
  print({ event: 'message', topic, payload: payload.toString(), qos: packet.qos, retain: packet.retain, properties: props(packet.properties) });
  if (waiter && received >= waiter.n) { const w = waiter; waiter = null; w.resolve(); }
});
client.on('disconnect', (packet) => print({ event: 'disconnect', reasonCode: packet.reasonCode }));
client.on('error', (err) => print({ event: 'error', message: String(err && err.message), code: err && err.code }));
client.on('close', () => { print({ event: 'close' }); });

const wait = (n, ms) => new Promise((resolve) => {
  if (received >= n) return resolve();
  waiter = { n, resolve };
  setTimeout(() => { if (waiter) { waiter = null; print({ event: 'timeout', received }); resolve(); } }, ms || 10000);
});

async function run() {
  for (const s of spec.steps || []) {
    switch (s.op) {
      case 'subscribe':
        await new Promise((resolve) => client.subscribe(s.filters, s.options || {}, (err, granted) => {
          print({ event: 'suback', error: err ? String(err.message) : undefined, granted: (granted || []).map((g) => g.qos) });
          resolve();
        }));
        break;
      case 'publish': {
        const o = { qos: s.qos || 0, retain: !!s.retain, properties: s.properties };
        if (o.properties && o.properties.correlationData) o.properties.correlationData = fromB64(o.properties.correlationData);
        await new Promise((resolve) => client.publish(s.topic, s.payload || '', o, (err, packet) => {
          print({ event: 'puback', topic: s.topic, error: err ? String(err.message) : undefined, reasonCode: packet ? packet.reasonCode : undefined });
          resolve();
        }));
        break;
      }
      case 'wait':
        await wait(s.messages, s.ms);
        break;
      case 'waitTopic':
        await new Promise((resolve) => {
          const t = setTimeout(() => { print({ event: 'timeout', topic: s.topic }); resolve(); }, s.ms || 10000);
          client.on('message', (topic) => { if (topic === s.topic) { clearTimeout(t); resolve(); } });
        });
        break;
      case 'sleep':
        await new Promise((r) => setTimeout(r, s.ms));
        break;
      case 'end':
        await new Promise((r) => client.end(false, {}, r));
        return;
      case 'destroy':
        client.stream.destroy();
        await new Promise((r) => setTimeout(r, 100));
        return;
      case 'stay':
        await new Promise((r) => client.once('close', r));
        return;
    }
  }
}

client.once('connect', () => {
  run().then(() => { print({ event: 'done' }); process.exit(0); }, (err) => { print({ event: 'error', message: String(err) }); process.exit(1); });
});
client.once('close', () => { if (!client.connected) setTimeout(() => { print({ event: 'done' }); process.exit(0); }, 50); });
setTimeout(() => { print({ event: 'error', message: 'script timeout' }); process.exit(2); }, spec.timeoutMs || 20000);
