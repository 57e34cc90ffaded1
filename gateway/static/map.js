/* TwinBridge: the HTML pages' interactive map (progressive enhancement).
 *
 * The page works without this file: it has a server-drawn SVG map, a table of the features
 * and GET forms. Where OpenLayers (static/vendor/ol.js) is loaded, this replaces the SVG
 * with an OpenLayers map of the same features, read from the page's
 * <script type="application/json" id="map-data"> (no inline code: CSP script-src 'self').
 * No tiles: features are drawn on a plain background with a graticule, so it works
 * offline. Pointing at a feature highlights its table row and pointing at (or focusing)
 * a row highlights its feature. The map is a keyboard-focusable region (arrow keys pan,
 * + and - zoom) whose controls are buttons; the table is its text alternative.
 */
(function () {
  "use strict";

  /** The page's colours (they follow its light or dark scheme). */
  function palette() {
    const css = getComputedStyle(document.documentElement);
    const colour = (name, fallback) => css.getPropertyValue(name).trim() || fallback;
    return {
      feat: colour("--feat", "#1d5fbf"),
      fill: colour("--feat-fill", "rgba(29, 95, 191, .22)"),
      hot: colour("--hot", "#d0342c"),
      grat: colour("--grat", "#cdd8e2"),
      panel: colour("--panel", "#fff"),
    };
  }

  function featureStyle(colours, hot) {
    const ink = hot ? colours.hot : colours.feat;
    return new ol.style.Style({
      image: new ol.style.Circle({
        radius: hot ? 7 : 5,
        fill: new ol.style.Fill({ color: ink }),
        stroke: new ol.style.Stroke({ color: colours.panel, width: 1.5 }),
      }),
      fill: new ol.style.Fill({ color: colours.fill }),
      stroke: new ol.style.Stroke({ color: ink, width: hot ? 3 : 2 }),
      zIndex: hot ? 1 : 0,
    });
  }

  /** The features layer: one OpenLayers feature per entry of the page's map data. */
  function featuresLayer(data, colours) {
    const format = new ol.format.GeoJSON({ featureProjection: "EPSG:3857" });
    const features = data.features.map(function (item) {
      const feature = new ol.Feature(format.readGeometry(item.geometry));
      feature.setProperties({ label: item.label, href: item.href, row: item.row });
      return feature;
    });
    const styles = { normal: featureStyle(colours, false), hot: featureStyle(colours, true) };
    const layer = new ol.layer.Vector({
      source: new ol.source.Vector({ features: features }),
      style: (feature) => (feature.get("hot") ? styles.hot : styles.normal),
    });
    layer.set("name", "features");
    return layer;
  }

  /** The map's element, in place of the SVG, labelled and focusable; and a status line. */
  function mapElement(figure) {
    const target = document.createElement("div");
    target.className = "olmap";
    target.tabIndex = 0;
    target.setAttribute("role", "region");
    const label = (figure.dataset.label || "Map") + ". Arrow keys pan, plus and minus keys zoom.";
    target.setAttribute("aria-label", label);
    const help = figure.querySelector(".map-help");
    if (help) target.setAttribute("aria-describedby", help.id);
    const still = figure.querySelector(".map-static");
    figure.insertBefore(target, still);
    still.hidden = true;
    const status = document.createElement("p");
    status.className = "map-status muted";
    status.setAttribute("aria-live", "polite");
    figure.insertBefore(status, still);
    return { target: target, status: status };
  }

  function buildMap(target, layer, colours) {
    const extent = layer.getSource().getExtent();
    const graticule = new ol.layer.Graticule({
      strokeStyle: new ol.style.Stroke({ color: colours.grat, width: 1 }),
      showLabels: true,
      lonLabelPosition: 0.97, // along the top: the scale line sits bottom left
      wrapX: false,
    });
    const fit = new ol.control.ZoomToExtent({
      extent: extent,
      label: "⤢",
      tipLabel: "Fit the map to the features",
    });
    const map = new ol.Map({
      target: target,
      layers: [graticule, layer],
      view: new ol.View({ center: [0, 0], zoom: 1, maxZoom: 20 }),
      controls: ol.control.defaults
        .defaults({ attribution: false, rotate: false })
        .extend([fit, new ol.control.ScaleLine()]),
    });
    map.getView().fit(extent, { padding: [24, 24, 24, 24], maxZoom: 17 });
    target.querySelectorAll(".ol-control button").forEach(function (button) {
      if (button.title) button.setAttribute("aria-label", button.title);
    });
    return map;
  }

  /** Ties features and table rows: pointing at either highlights both. */
  function tieRows(map, layer, target, status) {
    let hot = null;
    const rowOf = (feature) => feature && feature.get("row") && document.getElementById(feature.get("row"));
    function highlight(feature) {
      if (feature === hot) return;
      if (hot) {
        hot.set("hot", false);
        if (rowOf(hot)) rowOf(hot).classList.remove("hot");
      }
      hot = feature;
      if (feature) {
        feature.set("hot", true);
        if (rowOf(feature)) rowOf(feature).classList.add("hot");
      }
    }
    const featureAt = (pixel) =>
      map.forEachFeatureAtPixel(pixel, (f) => f, { layerFilter: (l) => l === layer, hitTolerance: 4 }) || null;
    map.on("pointermove", function (event) {
      if (event.dragging) return;
      const feature = featureAt(event.pixel);
      highlight(feature);
      target.style.cursor = feature ? "pointer" : "";
      target.title = feature ? feature.get("label") : "";
    });
    map.on("click", function (event) {
      const feature = featureAt(event.pixel);
      highlight(feature);
      if (!feature) return;
      const row = rowOf(feature);
      status.textContent = "Selected: " + feature.get("label") + (row ? " (highlighted in the table)" : "");
      if (row) row.scrollIntoView({ block: "nearest" });
    });
    target.addEventListener("mouseleave", () => highlight(null));
    layer.getSource().getFeatures().forEach(function (feature) {
      const row = rowOf(feature);
      if (!row) return;
      row.addEventListener("mouseenter", () => highlight(feature));
      row.addEventListener("mouseleave", () => highlight(null));
      row.addEventListener("focusin", () => highlight(feature));
      row.addEventListener("focusout", () => highlight(null));
    });
  }

  /** The filter form's "Use the map view": bbox (CRS84) from what the map shows. */
  function offerMapViewAsBbox(map) {
    const button = document.querySelector("button[data-map-bbox]");
    const input = document.getElementById("bbox");
    if (!button || !input) return;
    button.hidden = false;
    button.addEventListener("click", function () {
      const view = map.getView().calculateExtent(map.getSize());
      const e = ol.proj.transformExtent(view, "EPSG:3857", "EPSG:4326");
      const clamp = (v, limit) => Math.max(-limit, Math.min(limit, v)).toFixed(5);
      input.value = [clamp(e[0], 180), clamp(e[1], 90), clamp(e[2], 180), clamp(e[3], 90)].join(",");
      input.focus();
    });
  }

  const figure = document.querySelector("figure.map[data-map]");
  const source = document.getElementById("map-data");
  if (!figure || !source || !window.ol) return;
  const colours = palette();
  const layer = featuresLayer(JSON.parse(source.textContent), colours);
  const parts = mapElement(figure);
  const map = buildMap(parts.target, layer, colours);
  tieRows(map, layer, parts.target, parts.status);
  offerMapViewAsBbox(map);
  parts.target.twinbridge = { map: map, layer: layer }; // for the browser tests
  map.once("rendercomplete", () => parts.target.setAttribute("data-state", "ready"));
})();
