// mqtt.js (what Masterportal and most web maps use) over WebSockets: connect to the
// gateway's socket, subscribe to one topic with QoS 2 and retain handling 2 (as
// Masterportal does), print "ready", then print each message as one JSON line.
// Usage: node mqttjs_subscriber.cjs MQTT_MODULE_DIR WS_URL TOPIC PROTOCOL_VERSION
const [moduleDir, url, topic, version] = process.argv.slice(2);
const mqtt = require(moduleDir);
const client = mqtt.connect(url, { protocolVersion: Number(version), reconnectPeriod: 0 });
client.on("error", (e) => { console.error(String(e)); process.exit(2); });
client.on("connect", () => {
  client.subscribe(topic, { qos: 2, rh: 2 }, (err, granted) => {
    if (err) { console.error(String(err)); process.exit(3); }
    console.log(JSON.stringify({ ready: granted.map((g) => g.qos) }));
  });
});
client.on("message", (t, payload, packet) => {
  console.log(JSON.stringify({ topic: t, qos: packet.qos, doc: JSON.parse(payload.toString()) }));
});
