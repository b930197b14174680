// The 15-minute circle map (GET /map/): plain SVG drawn from the JSON embedded in the page.
// Hand-written, no library, no CDN. Without a tile URL nothing but this server is asked.
(function () {
  "use strict";
  var SVG = "http://www.w3.org/2000/svg";
  var data = JSON.parse(document.getElementById("data").textContent);
  var W = 720, H = 720;             // the drawing's own units; CSS scales it to the screen
  var R = 6378137;                  // Web Mercator sphere
  var VIEW_M = 1200 * 1.18;         // half the view: a 15-minute walk and a margin
  var kinds = {};
  data.legend.forEach(function (k) { kinds[k.id] = k; });
  var state = {
    centre: data.centre,            // {lat, lng (GCJ-02), wlat, wlng (WGS-84), label}
    slow: false,
    hidden: {},                     // kind id -> true when filtered out
  };

  // ---- coordinates ------------------------------------------------------------------------
  // WGS-84 -> GCJ-02, the public algorithm (community/geo.py has the same), for "my location":
  // browsers report WGS-84, AMap/Tencent tiles and our stored points are GCJ-02.
  var A = 6378245.0, EE = 0.00669342162296594323;
  function outOfChina(lat, lng) {
    return !(lng >= 72.004 && lng <= 137.8347 && lat >= 0.8293 && lat <= 55.8271);
  }
  function dLat(x, y) {
    var r = -100 + 2 * x + 3 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * Math.sqrt(Math.abs(x));
    r += (20 * Math.sin(6 * x * Math.PI) + 20 * Math.sin(2 * x * Math.PI)) * 2 / 3;
    r += (20 * Math.sin(y * Math.PI) + 40 * Math.sin(y / 3 * Math.PI)) * 2 / 3;
    r += (160 * Math.sin(y / 12 * Math.PI) + 320 * Math.sin(y * Math.PI / 30)) * 2 / 3;
    return r;
  }
  function dLng(x, y) {
    var r = 300 + x + 2 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * Math.sqrt(Math.abs(x));
    r += (20 * Math.sin(6 * x * Math.PI) + 20 * Math.sin(2 * x * Math.PI)) * 2 / 3;
    r += (20 * Math.sin(x * Math.PI) + 40 * Math.sin(x / 3 * Math.PI)) * 2 / 3;
    r += (150 * Math.sin(x / 12 * Math.PI) + 300 * Math.sin(x / 30 * Math.PI)) * 2 / 3;
    return r;
  }
  function wgsToGcj(lat, lng) {
    if (outOfChina(lat, lng)) return [lat, lng];
    var a = dLat(lng - 105, lat - 35), b = dLng(lng - 105, lat - 35);
    var rad = lat / 180 * Math.PI, magic = 1 - EE * Math.sin(rad) * Math.sin(rad);
    var sq = Math.sqrt(magic);
    a = (a * 180) / ((A * (1 - EE)) / (magic * sq) * Math.PI);
    b = (b * 180) / (A / sq * Math.cos(rad) * Math.PI);
    return [lat + a, lng + b];
  }
  function haversine(lat1, lng1, lat2, lng2) {
    var p1 = lat1 * Math.PI / 180, p2 = lat2 * Math.PI / 180;
    var dp = p2 - p1, dl = (lng2 - lng1) * Math.PI / 180;
    var h = Math.sin(dp / 2) * Math.sin(dp / 2) +
            Math.cos(p1) * Math.cos(p2) * Math.sin(dl / 2) * Math.sin(dl / 2);
    return 2 * 6371008.8 * Math.asin(Math.sqrt(h));
  }
  // Points are drawn in the tiles' datum (GCJ-02 for the schematic too); distances use WGS-84.
  var wgsTiles = data.tiles.url && data.tiles.datum === "wgs84";
  function drawn(p) { return wgsTiles ? [p.wlat, p.wlng] : [p.lat, p.lng]; }
  function mercX(lng) { return R * lng * Math.PI / 180; }
  function mercY(lat) { return R * Math.log(Math.tan(Math.PI / 4 + lat * Math.PI / 360)); }

  function projection() {
    var c = drawn(state.centre);
    var cos = Math.cos(c[0] * Math.PI / 180);
    var s = (W / 2) / VIEW_M;       // drawing units per metre on the ground
    var x0 = mercX(c[1]), y0 = mercY(c[0]);
    return {
      s: s, cos: cos, x0: x0, y0: y0,
      xy: function (lat, lng) {
        return [W / 2 + (mercX(lng) - x0) * cos * s, H / 2 - (mercY(lat) - y0) * cos * s];
      },
    };
  }

  // ---- drawing ------------------------------------------------------------------------------
  function el(name, attrs, parent) {
    var e = document.createElementNS(SVG, name);
    for (var k in attrs) e.setAttribute(k, attrs[k]);
    if (parent) parent.appendChild(e);
    return e;
  }
  function text(parent, x, y, str, attrs) {
    var t = el("text", Object.assign({ x: x, y: y }, attrs || {}), parent);
    t.textContent = str;
    return t;
  }
  function marker(parent, kind, x, y, r) {
    var k = kinds[kind];
    if (!k.outline.length) {
      var hollow = k.shape === "circle_hollow";
      return el("circle", {
        cx: x, cy: y, r: r * 0.85, fill: hollow ? "#fff" : k.colour, stroke: k.colour,
        "stroke-width": hollow ? r * 0.35 : 1.5, "class": "marker", "data-kind": kind,
      }, parent);
    }
    var pts = k.outline.map(function (p) { return (x + p[0] * r) + "," + (y + p[1] * r); });
    return el("polygon", {
      points: pts.join(" "), fill: k.colour, stroke: "#fff", "stroke-width": 1.5,
      "class": "marker", "data-kind": kind,
    }, parent);
  }
  function pace() { return state.slow ? data.pace.elderly : data.pace.normal; }

  function drawTiles(svg, proj) {
    var t = data.tiles;
    if (!t.url) return;
    var world = 2 * Math.PI * R;
    var z = Math.round(Math.log2(world * proj.cos * proj.s / 256));
    z = Math.max(3, Math.min(19, z));
    var n = Math.pow(2, z), size = world / n, px = size * proj.cos * proj.s;
    var left = proj.x0 - (W / 2) / (proj.cos * proj.s), top = proj.y0 + (H / 2) / (proj.cos * proj.s);
    var tx0 = Math.floor((left + world / 2) / size), ty0 = Math.floor((world / 2 - top) / size);
    var g = el("g", { id: "tiles" }, svg);
    for (var tx = tx0; tx * px < (tx0 * px) + W + px; tx++) {
      for (var ty = ty0; ty * px < (ty0 * px) + H + px; ty++) {
        var mx = -world / 2 + tx * size, my = world / 2 - ty * size;
        var x = W / 2 + (mx - proj.x0) * proj.cos * proj.s;
        var y = H / 2 - (my - proj.y0) * proj.cos * proj.s;
        var url = t.url.replace("{z}", z).replace("{x}", ((tx % n) + n) % n).replace("{y}", ty)
          .replace("{s}", "abc"[(tx + ty) % 3]);
        el("image", { href: url, x: x, y: y, width: px + 0.5, height: px + 0.5 }, g);
      }
    }
  }

  function drawMap() {
    var box = document.getElementById("map");
    box.textContent = "";
    var svg = el("svg", { viewBox: "0 0 " + W + " " + H, role: "img", id: "mapsvg" }, box);
    var proj = projection();
    el("rect", { x: 0, y: 0, width: W, height: H, fill: "#f7f5ef" }, svg);
    drawTiles(svg, proj);
    // Walking-time rings around the centre.
    var rings = el("g", { id: "rings" }, svg);
    data.rings.slice().reverse().forEach(function (min, i) {
      var r = min * pace() * proj.s;
      el("circle", {
        cx: W / 2, cy: H / 2, r: r, fill: ["#e6f4ec", "#d3ecdd", "#bfe3cd"][i],
        "fill-opacity": data.tiles.url ? 0.35 : 0.9, stroke: "#1f7a4d",
        "stroke-width": 2, "stroke-dasharray": "8 6", "class": "ring",
      }, rings);
      text(rings, W / 2 + 4, H / 2 - r + 20, min + "分钟", {
        "font-size": 18, fill: "#1f7a4d", "font-weight": 700, "class": "ring-label",
      });
    });
    // The centre.
    var c = el("g", { id: "centre" }, svg);
    el("circle", { cx: W / 2, cy: H / 2, r: 9, fill: "#1f7a4d", stroke: "#fff", "stroke-width": 3 }, c);
    text(c, W / 2, H / 2 + 28, state.centre.label, {
      "font-size": 17, "text-anchor": "middle", fill: "#1d2b24", "font-weight": 700,
      stroke: "#fff", "stroke-width": 4, "paint-order": "stroke",
    });
    // The places. A label goes right of its marker, else left; one that would cover another
    // label, a marker or a ring's label is left out (the list below names every place).
    var pts = el("g", { id: "points" }, svg);
    var labels = el("g", { id: "labels" }, svg);
    var taken = [[W / 2 - 70, H / 2 - 10, W / 2 + 70, H / 2 + 34]];
    data.rings.forEach(function (min) {
      var r = min * pace() * proj.s;
      taken.push([W / 2, H / 2 - r + 2, W / 2 + 60, H / 2 - r + 24]);
    });
    var shown = [];
    data.spots.forEach(function (p) {
      if (state.hidden[p.kind]) return;
      var d = drawn(p), xy = proj.xy(d[0], d[1]);
      if (xy[0] < -20 || xy[0] > W + 20 || xy[1] < -20 || xy[1] > H + 20) return;
      marker(pts, p.kind, xy[0], xy[1], 11);
      taken.push([xy[0] - 11, xy[1] - 11, xy[0] + 11, xy[1] + 11]);
      shown.push([p, xy]);
    });
    function free(b) {
      return b[0] >= 0 && b[2] <= W && taken.every(function (t) {
        return !(b[0] < t[2] && t[0] < b[2] && b[1] < t[3] && t[1] < b[3]);
      });
    }
    shown.forEach(function (s) {
      var p = s[0], xy = s[1], w = p.name.length * 14;
      [xy[0] + 14, xy[0] - 14 - w].some(function (x) {
        var b = [x, xy[1] - 9, x + w, xy[1] + 9];
        if (!free(b)) return false;
        taken.push(b);
        text(labels, x, xy[1] + 5, p.name, {
          "font-size": 14, fill: "#1d2b24", stroke: "#fff", "stroke-width": 3,
          "paint-order": "stroke", "class": "label",
        });
        return true;
      });
    });
    // Scale bar (500 m) and north.
    var bar = 500 * proj.s, sb = el("g", { id: "scalebar" }, svg);
    el("rect", { x: 16, y: H - 40, width: bar, height: 8, fill: "#1d2b24" }, sb);
    el("rect", { x: 16 + bar / 2, y: H - 40, width: bar / 2, height: 8, fill: "#fff",
                 stroke: "#1d2b24", "stroke-width": 1.5 }, sb);
    text(sb, 16, H - 48, "0", { "font-size": 14 });
    text(sb, 16 + bar, H - 48, "500米", { "font-size": 14, "text-anchor": "middle" });
    var north = el("g", { id: "north" }, svg);
    el("polygon", { points: (W - 30) + ",18 " + (W - 40) + ",44 " + (W - 30) + ",38 " +
                    (W - 20) + ",44", fill: "#1d2b24" }, north);
    text(north, W - 30, 62, "北", { "font-size": 14, "text-anchor": "middle" });
    if (data.tiles.url && data.tiles.attribution) {
      text(svg, W - 8, H - 10, data.tiles.attribution, { "font-size": 12, "text-anchor": "end",
           fill: "#5f6f67" });
    }
  }

  function drawLegend() {
    var box = document.getElementById("legend");
    box.textContent = "";
    var present = {};
    data.spots.forEach(function (p) { present[p.kind] = (present[p.kind] || 0) + 1; });
    data.legend.forEach(function (k) {
      if (!present[k.id]) return;
      var b = document.createElement("button");
      b.type = "button";
      b.dataset.kind = k.id;
      b.className = state.hidden[k.id] ? "off" : "";
      b.setAttribute("aria-pressed", state.hidden[k.id] ? "false" : "true");
      var icon = el("svg", { viewBox: "-12 -12 24 24" }, b);
      marker(icon, k.id, 0, 0, 10);
      b.appendChild(document.createTextNode(k.name + "（" + present[k.id] + "）"));
      b.addEventListener("click", function () {
        // The first tap shows this kind alone; tapping it again shows every kind.
        var alone = data.legend.every(function (o) { return o.id === k.id || state.hidden[o.id]; });
        state.hidden = {};
        if (!alone) data.legend.forEach(function (o) { if (o.id !== k.id) state.hidden[o.id] = true; });
        render();
      });
      box.appendChild(b);
    });
  }

  function drawList() {
    var ul = document.getElementById("list");
    ul.textContent = "";
    var c = state.centre;
    var rows = data.spots.filter(function (p) { return !state.hidden[p.kind]; }).map(function (p) {
      var d = haversine(c.wlat, c.wlng, p.wlat, p.wlng);
      return { p: p, min: Math.max(1, Math.round(d / pace())) };
    });
    rows.sort(function (a, b) { return a.min - b.min; });
    rows.forEach(function (r) {
      var p = r.p, li = document.createElement("li");
      li.dataset.kind = p.kind;
      var m = document.createElement("span");
      m.className = "min";
      m.textContent = r.min + "分钟";
      var body = document.createElement("div");
      var name = document.createElement("div");
      name.className = "name";
      var icon = el("svg", { viewBox: "-12 -12 24 24", width: 14, height: 14 }, name);
      marker(icon, p.kind, 0, 0, 10);
      name.appendChild(document.createTextNode(" " + p.name));
      var info = document.createElement("div");
      info.className = "muted";
      info.textContent = kinds[p.kind].name + " · " + p.note + (p.address ? " · " + p.address : "");
      body.appendChild(name);
      body.appendChild(info);
      if (p.offerings) {
        var off = document.createElement("div");
        off.className = "muted";
        off.textContent = p.offerings;
        body.appendChild(off);
      }
      if (p.phone) {
        var a = document.createElement("a");
        a.href = "tel:" + p.phone;
        a.textContent = "电话 " + p.phone;
        body.appendChild(a);
      }
      li.appendChild(m);
      li.appendChild(body);
      ul.appendChild(li);
    });
    if (!rows.length) {
      var none = document.createElement("li");
      none.className = "muted";
      none.textContent = "社区还没有登记核实过的服务点。";
      ul.appendChild(none);
    }
    document.getElementById("from").textContent = state.centre.label;
  }

  function render() {
    drawMap();
    drawLegend();
    drawList();
  }

  document.getElementById("slow").addEventListener("change", function (e) {
    state.slow = e.target.checked;
    render();
  });
  document.getElementById("home").addEventListener("click", function () {
    state.centre = data.centre;
    document.getElementById("status").textContent = "";
    render();
  });
  document.getElementById("me").addEventListener("click", function () {
    var status = document.getElementById("status");
    if (!navigator.geolocation) {
      status.textContent = "这个浏览器不能定位。";
      return;
    }
    status.textContent = "正在定位……";
    navigator.geolocation.getCurrentPosition(function (pos) {
      var w = [pos.coords.latitude, pos.coords.longitude], g = wgsToGcj(w[0], w[1]);
      state.centre = { lat: g[0], lng: g[1], wlat: w[0], wlng: w[1], label: "我的位置" };
      status.textContent = "已按您的位置重新计算步行时间。";
      render();
    }, function () {
      status.textContent = "没能定位（可能没有允许定位），仍以社区中心计算。";
    }, { enableHighAccuracy: true, timeout: 10000, maximumAge: 60000 });
  });
  render();
})();
