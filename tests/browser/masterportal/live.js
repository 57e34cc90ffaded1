// Live updates as Masterportal's SensorThings layer receives them: mqtt.js over a WebSocket,
// connected with the options Masterportal builds from a layer's `mqttOptions`, subscribed to
// the standard topic with the layer's QoS (`mqttQos`, default 2) and retain handling
// (`mqttRh`, default 2). Under MQTT 3.1.1, which has no retain handling, Masterportal fetches
// the latest Observation over HTTP instead when rh is not 2 (its "simulated retained message").
import mqtt from "mqtt";
import {walk} from "./sensorthings.js";

// Masterportal's connector defaults, then the layer's mqttOptions; "5.0" selects MQTT 5.
function connectOptions(mqttOptions) {
    const options = {
        browserBufferSize: 65536, host: "https://localhost", port: "", path: "/mqtt",
        protocol: "wss", mqttVersion: "3.1.1", rhPath: "", ...mqttOptions
    };

    if (options.mqttVersion === "5.0") {
        options.protocolVersion = 5;
    }
    options.hostname = options.hostname || options.host;
    return options;
}

export class LiveLayer {
    constructor(mqttOptions) {
        this.options = connectOptions(mqttOptions);
        this.messages = [];
        this.client = mqtt.connect(this.options);
        this.client.on("message", (topic, payload) => this.receive(topic, payload, false));
        this.client.on("error", error => console.error("mqtt error", error.message));
    }

    receive(topic, payload, simulated) {
        let observation = null;

        try {
            observation = JSON.parse(payload);
        }
        catch (e) {
            observation = String(payload);
        }
        this.messages.push({topic, observation, simulated, at: Date.now()});
    }

    connected() {
        return this.client.connected ? Promise.resolve() : new Promise(resolve => this.client.once("connect", resolve));
    }

    // Resolves with what the broker granted, after the SUBACK.
    async subscribe(topic, {qos = 2, rh = 2} = {}) {
        await this.connected();
        const granted = await new Promise((resolve, reject) => {
            this.client.subscribe(topic, {qos, rh}, (error, grants) => error ? reject(error) : resolve(grants));
        });

        if (rh !== 2 && this.options.mqttVersion !== "5.0") {
            await this.simulateRetained(topic);
        }
        return granted.map(g => ({topic: g.topic, qos: g.qos}));
    }

    async simulateRetained(topic) {
        let url = this.options.rhPath.endsWith("/") ? this.options.rhPath : this.options.rhPath + "/";

        url += topic;
        if (topic.substring(topic.lastIndexOf("/")).toLowerCase().includes("observations")) {
            url += "?%24orderby=phenomenonTime%20desc&%24top=1";
        }
        const {entities} = await walk(url, 50);

        if (entities.length) {
            this.messages.push({topic, observation: entities[0], simulated: true, at: Date.now()});
        }
    }

    end() {
        return new Promise(resolve => this.client.end(false, {}, resolve));
    }
}
