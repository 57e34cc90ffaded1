// The test page: an OpenLayers map in EPSG:25832 as Masterportal sets it up, with
// - OAF layers made by Masterportal's own layer code (@masterportal/masterportalapi,
//   src/layer/oaf.js) with the attributes Masterportal's Layer2dVectorOaf passes to it,
// - a SensorThings layer loaded as Masterportal's SensorThings layer loads it,
// - live updates through mqtt.js as Masterportal's MQTT connector subscribes.
// The Python tests drive it through window.twinbridge and read what it reports.
import "ol/ol.css";
import Map from "ol/Map.js";
import View from "ol/View.js";
import VectorLayer from "ol/layer/Vector.js";
import VectorSource from "ol/source/Vector.js";
import {bbox} from "ol/loadingstrategy.js";
import {Circle, Fill, Stroke, Style} from "ol/style.js";
import oaf from "@masterportal/masterportalapi/src/layer/oaf.js";
import crs from "@masterportal/masterportalapi/src/crs.js";
import {inExtentUrl, layerUrl, thingFeatures, walk} from "./sensorthings.js";
import {LiveLayer} from "./live.js";

const MAP_CRS = "EPSG:25832";
const COLOURS = ["#1b6ca8", "#c0392b", "#2e8b57", "#8e44ad"];

crs.registerProjections();  // EPSG:25832 through proj4, as Masterportal registers it

const map = new Map({target: "map", view: new View({projection: MAP_CRS, center: [565874, 5934140], resolution: 15.87})});

function style(colour) {
    return new Style({
        image: new Circle({radius: 4, fill: new Fill({color: colour})}),
        stroke: new Stroke({color: colour, width: 2}),
        fill: new Fill({color: colour + "33"})
    });
}

function show(extent) {
    map.getView().fit(extent, {size: map.getSize()});
}

// What a test needs to know of a loaded layer: each feature's id and first coordinate.
function summary(features) {
    return features.map(f => ({id: String(f.getId()), at: f.getGeometry()?.getFirstCoordinate() || null}));
}

// rawLayer as Layer2dVectorOaf builds it from a services.json entry: limit 400, crs and
// bboxCrs, the bbox loading strategy (the map extent becomes the bbox parameter).
function oafLayer(entry, index) {
    const crsParam = entry.crs === false || entry.crs ? entry.crs : "http://www.opengis.net/def/crs/EPSG/0/25832";
    const rawLayer = {
        id: entry.id, url: entry.url, collection: entry.collection, crs: crsParam,
        bboxCrs: entry.bboxCrs || crsParam, limit: entry.limit === undefined ? 400 : entry.limit,
        datetime: entry.datetime, params: entry.params
    };

    return new Promise((resolve, reject) => {
        const layer = oaf.createLayer(rawLayer, {
            options: {
                loadingStrategy: bbox,
                loadingParams: {},
                style: style(COLOURS[index % COLOURS.length]),
                afterLoading: features => resolve({id: entry.id, features: summary(features)}),
                onLoadingError: error => reject(new Error(`${entry.id}: ${error}`))
            }
        });

        map.addLayer(layer);
    });
}

// A test waits for the page's answer; a layer that never finishes loading fails it instead.
function within(promise, seconds, what) {
    const late = new Promise((_, reject) => setTimeout(() => reject(new Error(`${what}: not done within ${seconds} s`)), seconds * 1000));

    return Promise.race([promise, late]);
}

async function loadOaf(entries, extent, seconds = 60) {
    show(extent);
    return within(Promise.all(entries.map(oafLayer)), seconds, "OAF layers");
}

// A SensorThings layer: services.json attributes with Masterportal's defaults.
async function loadSensorThings(entry, extent, maxRequests) {
    const version = entry.version || "1.1";
    const epsg = entry.epsg || "EPSG:4326";
    const urlParameter = entry.urlParameter || {};
    let url = layerUrl(entry.url, version, urlParameter);

    show(extent);
    if (entry.loadThingsOnlyInCurrentExtent) {
        const extentObj = {extent: map.getView().calculateExtent(map.getSize()), sourceProjection: MAP_CRS, targetProjection: epsg};

        url = inExtentUrl(url, extentObj, entry.intersect !== false, urlParameter.root || "Things");
    }
    const {entities, requests} = await within(walk(url, maxRequests), 60, "SensorThings layer");
    const features = thingFeatures(entities, urlParameter.root, MAP_CRS, epsg);

    map.addLayer(new VectorLayer({source: new VectorSource({features}), style: style("#e67e22")}));
    return {
        requests,
        things: features.map(f => ({
            id: f.getId(), at: f.getGeometry().getFirstCoordinate(), dataStreamId: f.get("dataStreamId"), latest: f.get("latest")
        }))
    };
}

const live = {};

async function subscribe(name, mqttOptions, topic, subscribeOptions) {
    live[name] = live[name] || new LiveLayer(mqttOptions);
    return within(live[name].subscribe(topic, subscribeOptions), 30, `MQTT subscription to ${topic}`);
}

function received(name) {
    return live[name] ? live[name].messages : [];
}

async function closeLive() {
    await Promise.all(Object.values(live).map(layer => layer.end()));
}

window.twinbridge = {loadOaf, loadSensorThings, subscribe, received, closeLive};
document.body.dataset.ready = "true";
