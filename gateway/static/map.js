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

  const figure = document.querySelector("figure.map[data-map]");
  const source = document.getElementById("map-data");
  if (!figure || !source || !window.ol) {
    return;
  }
  const data = JSON.parse(source.textContent);
  const css = getComputedStyle(document.documentElement);
  const colour = (name, fallback) => css.getPropertyValue(name).trim() || fallback;
  const palette = {
    feat: colour("--feat", "#1d5fbf"),
    fill: colour("--feat-fill", "rgba(29, 95, 191, .22)"),
    hot: colour("--hot", "#d0342c"),
    grat: colour("--grat", "#cdd8e2"),
    panel: colour("--panel", "#fff"),
  };

  function style(hot) {
    const stroke = new ol.style.Stroke({ color: hot ? palette.hot : palette.feat, width: hot ? 3 : 2 });
    return new ol.style.Style({
      image: new ol.style.Circle({
        radius: hot ? 7 : 5,
        fill: new ol.style.Fill({ color: hot ? palette.hot : palette.feat }),
        stroke: new ol.style.Stroke({ color: palette.panel, width: 1.5 }),
      }),
      fill: new ol.style.Fill({ color: palette.fill }),
      stroke: stroke,
      zIndex: hot ? 1 : 0,
    });
  }
  const styles = { normal: style(false), hot: style(true) };

  const format = new ol.format.GeoJSON({ featureProjection: "EPSG:3857" });
  const features = data.features.map(function (item) {
    const feature = new ol.Feature(format.readGeometry(item.geometry));
    feature.setProperties({ label: item.label, href: item.href, row: item.row });
    return feature;
  });
  const layer = new ol.layer.Vector({
    source: new ol.source.Vector({ features: features }),
    style: (feature) => (feature.get("hot") ? styles.hot : styles.normal),
  });
  layer.set("name", "features");
  const graticule = new ol.layer.Graticule({
    strokeStyle: new ol.style.Stroke({ color: palette.grat, width: 1 }),
    showLabels: true,
    lonLabelPosition: 0.97, // along the top: the scale line sits bottom left
    wrapX: false,
  });

  const target = document.createElement("div");
  target.className = "olmap";
  target.tabIndex = 0;
  target.setAttribute("role", "region");
  target.setAttribute(
    "aria-label",
    (figure.dataset.label || "Map") + ". Arrow keys pan, plus and minus keys zoom.",
  );
  const help = figure.querySelector(".map-help");
  if (help) {
    target.setAttribute("aria-describedby", help.id);
  }
  const still = figure.querySelector(".map-static");
  figure.insertBefore(target, still);
  still.hidden = true;
  const status = document.createElement("p");
  status.className = "map-status muted";
  status.setAttribute("aria-live", "polite");
  figure.insertBefore(status, still);

  const extent = layer.getSource().getExtent();
  const map = new ol.Map({
    target: target,
    layers: [graticule, layer],
    view: new ol.View({ center: [0, 0], zoom: 1, maxZoom: 20 }),
    controls: ol.control.defaults.defaults({ attribution: false, rotate: false }).extend([
      new ol.control.ZoomToExtent({ extent: extent, label: "⤢", tipLabel: "Fit the map to the features" }),
      new ol.control.ScaleLine(),
    ]),
  });
  map.getView().fit(extent, { padding: [24, 24, 24, 24], maxZoom: 17 });
  target.querySelectorAll(".ol-control button").forEach(function (button) {
    if (button.title) {
      button.setAttribute("aria-label", button.title);
    }
  });

  let hot = null;
  function rowOf(feature) {
    const id = feature && feature.get("row");
    return id ? document.getElementById(id) : null;
  }
  function highlight(feature) {
    if (feature === hot) {
      return;
    }
    if (hot) {
      hot.set("hot", false);
      const row = rowOf(hot);
      if (row) row.classList.remove("hot");
    }
    hot = feature;
    if (feature) {
      feature.set("hot", true);
      const row = rowOf(feature);
      if (row) row.classList.add("hot");
    }
  }
  function featureAt(pixel) {
    return map.forEachFeatureAtPixel(pixel, (f) => f, { layerFilter: (l) => l === layer, hitTolerance: 4 }) || null;
  }
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
  features.forEach(function (feature) {
    const row = rowOf(feature);
    if (!row) return;
    row.addEventListener("mouseenter", () => highlight(feature));
    row.addEventListener("mouseleave", () => highlight(null));
    row.addEventListener("focusin", () => highlight(feature));
    row.addEventListener("focusout", () => highlight(null));
  });

  // The filter form's "Use the map view" fills bbox (CRS84) from what the map shows.
  const bboxButton = document.querySelector("button[data-map-bbox]");
  const bboxInput = document.getElementById("bbox");
  if (bboxButton && bboxInput) {
    bboxButton.hidden = false;
    bboxButton.addEventListener("click", function () {
      const view = map.getView().calculateExtent(map.getSize());
      const e = ol.proj.transformExtent(view, "EPSG:3857", "EPSG:4326");
      const clamp = (v, limit) => Math.max(-limit, Math.min(limit, v)).toFixed(5);
      bboxInput.value = [clamp(e[0], 180), clamp(e[1], 90), clamp(e[2], 180), clamp(e[3], 90)].join(",");
      bboxInput.focus();
    });
  }

  target.twinbridge = { map: map, layer: layer };
  map.once("rendercomplete", () => target.setAttribute("data-state", "ready"));
})();
