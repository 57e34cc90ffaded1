// What Masterportal's SensorThings layer asks of a server, reproduced request for request
// (Masterportal's app is not on npm; its layer2dVectorSensorThings.js and sensorThingsHttp.js
// are the reference): the URL from services.json's `url`, `version` and `urlParameter`, the
// extent filter Masterportal adds with `loadThingsOnlyInCurrentExtent`, the breadth-first walk
// over every `@iot.nextLink` and nested `X@iot.nextLink` with its stop rule, and one map feature
// per Thing at its first Location.
import GeoJSON from "ol/format/GeoJSON.js";
import crs from "@masterportal/masterportalapi/src/crs.js";

// Masterportal's rule: a link is not followed when its $top is set and is <= its $skip. The
// pattern is Masterportal's own (a character class, so "%24top=" matches too).
const TOP = /[$|%24]top=([0-9]+)/;
const SKIP = /[$|%24]skip=([0-9]+)/;

function numberIn(pattern, url) {
    const match = pattern.exec(url);
    return match ? parseInt(match[1], 10) : 0;
}

export function followed(link) {
    const top = numberIn(TOP, link);
    return !(top > 0 && top <= numberIn(SKIP, link));
}

// `${url}/v${version}/${root}?$key=value&...`, values as written in services.json (arrays
// joined with commas), exactly as Masterportal concatenates them: no encoding.
export function layerUrl(url, version, urlParameter = {}) {
    const root = urlParameter.root || "Things";
    const query = Object.entries(urlParameter)
        .filter(([key, value]) => key !== "root" && !(Array.isArray(value) && !value.length))
        .map(([key, value]) => "$" + key + "=" + (Array.isArray(value) ? value.join(",") : value))
        .join("&");

    return `${url}/v${version}/${root}?${query}`;
}

// The map extent as a closed ring in the layer's CRS (`epsg`, EPSG:4326 by default).
function extentRing(extent, sourceProjection, targetProjection) {
    const [minX, minY, maxX, maxY] = extent;
    const corners = [[minX, minY], [maxX, minY], [maxX, maxY], [minX, maxY], [minX, minY]];

    return corners.map(([x, y]) => sourceProjection === targetProjection
        ? {x, y}
        : crs.transform(sourceProjection, targetProjection, {x, y}));
}

// Masterportal re-serialises the query with url-parse, i.e. encodeURIComponent on keys and
// values, and adds st_intersects (or st_within) over the Things' or the Thing's Locations.
export function inExtentUrl(url, extentObj, intersect, root) {
    const parsed = new URL(url);
    const query = new Map();

    for (const part of parsed.search.replace(/^\?/, "").split("&").filter(Boolean)) {
        const [key, ...rest] = part.split("=");
        query.set(decodeURIComponent(key), decodeURIComponent(rest.join("=")));
    }
    const points = extentRing(extentObj.extent, extentObj.sourceProjection, extentObj.targetProjection);
    const path = root === "Datastreams" ? "Thing/Locations/location" : "Locations/location";
    const polygon = (intersect ? "st_intersects" : "st_within") + "(" + path
        + ",geography'POLYGON ((" + points.map(p => p.x + " " + p.y).join(",") + "))')";

    if (!query.has("$filter")) {
        query.set("$filter", polygon);
    }
    else if (!query.get("$filter").includes("geography'POLYGON")) {
        query.set("$filter", query.get("$filter") + " and " + polygon);
    }
    const search = [...query].map(([k, v]) => encodeURIComponent(k) + "=" + encodeURIComponent(v)).join("&");

    return parsed.origin + parsed.pathname + "?" + search;
}

// Moves every nested "X@iot.nextLink" of `node` into the queue, with the array it continues.
function collectNested(node, queue) {
    if (node === null || typeof node !== "object") {
        return;
    }
    for (const key of Object.keys(node)) {
        const at = key.indexOf("@iot.nextLink");

        if (at === -1) {
            collectNested(node[key], queue);
        }
        else {
            queue.push({link: node[key], target: at === 0 ? node.value : node[key.substring(0, at)]});
            delete node[key];
        }
    }
}

// Masterportal's queue head: an empty link ends the whole walk; a link whose $top <= $skip
// is dropped and the next one looked at.
function nextToFollow(queue) {
    while (queue.length && queue[0].link) {
        const candidate = queue.shift();

        if (followed(candidate.link)) {
            return candidate;
        }
    }
    return null;
}

// Follows the links as Masterportal does (one request at a time, FIFO) and counts requests;
// `maxRequests` stops a walk that would never end (Masterportal has no such bound).
export async function walk(startUrl, maxRequests) {
    const result = [];
    const queue = [];
    const requests = [];
    let next = {link: startUrl, target: result};

    while (next) {
        if (requests.length >= maxRequests) {
            throw new Error(`Masterportal's walk did not end within ${maxRequests} requests; last: ${next.link}`);
        }
        requests.push(next.link);
        const response = await fetch(next.link);

        if (!response.ok) {
            throw new Error(`HTTP ${response.status} for ${next.link}`);
        }
        const body = await response.json();

        if (Array.isArray(body.value)) {
            body.value.forEach(entity => next.target.push(entity));
            if ("@iot.nextLink" in body) {
                queue.push({link: body["@iot.nextLink"], target: next.target});
            }
        }
        else {
            next.target.push(body);
        }
        collectNested(next.target, queue);
        next = nextToFollow(queue);
    }
    return {entities: result, requests};
}

// With root "Datastreams" Masterportal rebuilds Things from each Datastream's Thing and
// merges Datastreams of the same Thing.
function thingsOf(entities, root) {
    if (root !== "Datastreams") {
        return entities;
    }
    const things = new Map();

    entities.filter(stream => stream?.Thing).forEach(stream => {
        const {Thing, ...datastream} = stream;
        const id = Thing["@iot.id"];

        if (!things.has(id)) {
            things.set(id, {...Thing, Datastreams: []});
        }
        things.get(id).Datastreams.push(datastream);
    });
    return [...things.values()];
}

function locationOf(thing) {
    const location = thing?.Locations?.[0]?.location;

    return location?.geometry?.type ? location.geometry : location?.type ? location : null;
}

// One feature per Thing at its first Location, with Masterportal's Datastream attributes:
// dataStreamId "a | b", and the latest Observation's result per Datastream.
export function thingFeatures(entities, root, mapProjection, epsg) {
    const reader = new GeoJSON({featureProjection: mapProjection, dataProjection: epsg});

    return thingsOf(entities, root).filter(locationOf).map(thing => {
        const feature = reader.readFeature(locationOf(thing));
        const streams = thing.Datastreams || [];

        feature.setId(String(thing["@iot.id"]));
        feature.setProperties({
            name: thing.name,
            dataStreamId: streams.map(s => String(s["@iot.id"])).join(" | "),
            latest: Object.fromEntries(streams.map(s => [String(s["@iot.id"]), s.Observations?.[0] || null]))
        });
        return feature;
    });
}
