/* gotrap report: the interactive plots and tables of the HTML report.
 * Plots are drawn by uPlot (lib/uPlot.iife.min.js, loaded before this file).
 * Every page holds its data inline (no fetch: the report opens from file://).
 *
 * GT.plot(el, spec) draws a scatter or time-series plot into el:
 *   spec.x, spec.y: {label, log, dir (-1 reverses), time (x in Unix seconds, shown UTC)}
 *   spec.series: [{label, color, open (hollow marker), line (join points),
 *                  size, limit (downward triangles: upper limits), pts}]
 *     pts: [[x, y, tooltip text, href or null, error or null], ...]
 *   spec.lines: [{axis: "x" or "y", v, label, color}] threshold lines
 * The plot fills el's width and follows it; hovering shows the nearest
 * point's values, dragging zooms (double-click resets), a click on a point
 * with an href opens it. window.GT.charts lists the plots for tests.
 */
(function () {
  'use strict';
  var GT = window.GT = {charts: []};

  function fmt(v) {
    if (v === null || v === undefined || !isFinite(v)) { return ''; }
    var a = Math.abs(v);
    if (a !== 0 && (a < 1e-3 || a >= 1e6)) { return v.toExponential(3); }
    return String(+v.toPrecision(5));
  }
  GT.fmt = fmt;

  // The point nearest to (left, top), CSS pixels in the plotting area,
  // within maxPx: {s, i} (series and data index) or null.
  function nearest(u, left, top, maxPx) {
    var best = null, bd = maxPx * maxPx;
    for (var s = 1; s < u.series.length; s++) {
      if (!u.series[s].show) { continue; }
      var ys = u.data[s], xs = u.data[0];
      for (var i = 0; i < ys.length; i++) {
        if (ys[i] === null) { continue; }
        var dx = u.valToPos(xs[i], 'x') - left, dy = u.valToPos(ys[i], 'y') - top;
        var d = dx * dx + dy * dy;
        if (d <= bd) { bd = d; best = {s: s, i: i}; }
      }
    }
    return best;
  }

  function drawExtras(u, spec, meta) {
    var ctx = u.ctx, b = u.bbox, dpr = window.devicePixelRatio || 1;
    ctx.save();
    ctx.beginPath();
    ctx.rect(b.left, b.top, b.width, b.height);
    ctx.clip();
    // Error bars and upper-limit arrows.
    for (var s = 1; s < u.series.length; s++) {
      if (!u.series[s].show) { continue; }
      var sp = spec.series[s - 1];
      ctx.strokeStyle = sp.color;
      ctx.fillStyle = sp.color;
      ctx.lineWidth = dpr;
      for (var i = 0; i < u.data[s].length; i++) {
        var y = u.data[s][i];
        if (y === null) { continue; }
        var p = meta[s][i], cx = u.valToPos(u.data[0][i], 'x', true), cy = u.valToPos(y, 'y', true);
        if (sp.limit) {
          var r = 4.5 * dpr;
          ctx.beginPath();
          ctx.moveTo(cx - r, cy - r);
          ctx.lineTo(cx + r, cy - r);
          ctx.lineTo(cx, cy + r);
          ctx.closePath();
          ctx.fill();
          continue;
        }
        var e = p && p[4];
        if (e && isFinite(e) && e > 0) {
          var lo = y - e;
          var y0 = spec.y.log && lo <= 0 ? b.top + b.height : u.valToPos(lo, 'y', true);
          var y1 = u.valToPos(y + e, 'y', true);
          ctx.beginPath();
          ctx.moveTo(cx, y0);
          ctx.lineTo(cx, y1);
          ctx.stroke();
        }
      }
    }
    // Threshold lines with their labels.
    (spec.lines || []).forEach(function (l) {
      if (!isFinite(l.v) || ((l.axis === 'x' ? spec.x : spec.y).log && l.v <= 0)) { return; }
      ctx.strokeStyle = l.color || '#555';
      ctx.fillStyle = l.color || '#555';
      ctx.lineWidth = 1.5 * dpr;
      ctx.setLineDash([6 * dpr, 4 * dpr]);
      ctx.font = (12 * dpr) + 'px sans-serif';
      ctx.beginPath();
      if (l.axis === 'x') {
        var x = u.valToPos(l.v, 'x', true);
        ctx.moveTo(x, b.top);
        ctx.lineTo(x, b.top + b.height);
        ctx.stroke();
        ctx.fillText(l.label, x + 4 * dpr, b.top + 14 * dpr);
      } else {
        var yy = u.valToPos(l.v, 'y', true);
        ctx.moveTo(b.left, yy);
        ctx.lineTo(b.left + b.width, yy);
        ctx.stroke();
        ctx.fillText(l.label, b.left + 4 * dpr, yy - 4 * dpr);
      }
      ctx.setLineDash([]);
    });
    ctx.restore();
  }

  function height(el) {
    var w = el.clientWidth;
    return Math.max(260, Math.min(Math.round(w * 0.55), Math.round(window.innerHeight * 0.75), 620));
  }

  GT.plot = function (el, spec) {
    var okX = function (v) { return v !== null && isFinite(v) && (!spec.x.log || v > 0); };
    var okY = function (v) { return v !== null && isFinite(v) && (!spec.y.log || v > 0); };
    // One data index per point, in x order (uPlot's aligned data).
    var all = [], dropped = 0;
    spec.series.forEach(function (s, k) {
      (s.pts || []).forEach(function (p) {
        if (okX(p[0]) && okY(p[1])) { all.push({k: k, p: p}); } else { dropped++; }
      });
    });
    all.sort(function (a, b) { return a.p[0] - b.p[0]; });
    var data = [all.map(function (a) { return a.p[0]; })], meta = [null];
    spec.series.forEach(function (s, k) {
      data.push(all.map(function (a) { return a.k === k ? a.p[1] : null; }));
      meta.push(all.map(function (a) { return a.k === k ? a.p : null; }));
    });
    var series = [{label: spec.x.label}];
    spec.series.forEach(function (s) {
      series.push({
        // fill colours the legend's marker: points-only series have no
        // area to fill.
        label: s.label, stroke: s.color, width: s.line ? 1.2 : 0, spanGaps: true,
        fill: s.line || s.open ? undefined : s.color,
        paths: s.line ? undefined : function () { return null; },
        points: s.limit ? {show: false} : {show: true, size: s.size || 7, width: 1.5, stroke: s.color, fill: s.open ? '#fff' : s.color}
      });
    });
    var yFmt = function (u, vals) { return vals.map(fmt); };
    var xAxis = {label: spec.x.label, labelSize: 20, size: 50};
    if (spec.x.time) {
      // 24-hour UTC times; the axis label has the first point's date and
      // a tick where the date changes has its date.
      if (data[0].length) { xAxis.label += ', from ' + new Date(data[0][0] * 1e3).toISOString().slice(0, 10); }
      xAxis.values = function (u, vals) {
        var last = null;
        return vals.map(function (v) {
          if (v === null) { return ''; }
          var iso = new Date(v * 1e3).toISOString(), day = iso.slice(0, 10), hm = iso.slice(11, 16);
          if (iso.slice(17, 19) !== '00') { hm = iso.slice(11, 19); }
          var lab = last !== null && day !== last ? hm + '\n' + day : hm;
          last = day;
          return lab;
        });
      };
    } else {
      xAxis.values = yFmt;
    }
    var lin = function (lo, hi) {
      if (lo === null || hi === null || !(isFinite(lo) && isFinite(hi))) { return [0, 1]; }
      var pad = hi > lo ? 0.06 * (hi - lo) : Math.max(Math.abs(lo) * 0.1, 1);
      return [lo - pad, hi + pad];
    };
    var maxErr = 0;
    all.forEach(function (a) { if (a.p[4] && isFinite(a.p[4])) { maxErr = Math.max(maxErr, a.p[4]); } });
    var opts = {
      width: el.clientWidth, height: height(el),
      scales: {
        x: {time: !!spec.x.time, distr: spec.x.log ? 3 : 1, dir: spec.x.dir || 1},
        y: {distr: spec.y.log ? 3 : 1}
      },
      axes: [xAxis, {label: spec.y.label, labelSize: 20, size: 70, values: yFmt}],
      series: series,
      legend: {live: false},
      cursor: {drag: {x: true, y: true, uni: 30}, points: {show: false}, focus: {prox: -1}},
      hooks: {draw: [function (u) { drawExtras(u, spec, meta); }]}
    };
    if (spec.x.time) { opts.tzDate = function (ts) { return uPlot.tzDate(new Date(ts * 1e3), 'Etc/UTC'); }; }
    // Range functions serve auto-ranging only (a zoom sets the range
    // itself): log axes padded by a factor, linear ones by 6 % (y: beyond
    // the largest error bar too).
    var lr = function (u, min, max) { return min > 0 && max > 0 ? uPlot.rangeLog(min / 1.3, max * 1.3, 10, false) : [min, max]; };
    opts.scales.x.range = function (u, min, max) { return spec.x.log ? lr(u, min, max) : lin(min, max); };
    opts.scales.y.range = function (u, min, max) { return spec.y.log ? lr(u, min, max) : lin(min - maxErr, max + maxErr); };
    var u = new uPlot(opts, data, el);
    var tip = document.createElement('div');
    tip.className = 'gt-tip';
    u.over.appendChild(tip);
    var at = function (e) {
      var r = u.over.getBoundingClientRect();
      return nearest(u, e.clientX - r.left, e.clientY - r.top, 12);
    };
    u.over.addEventListener('mousemove', function (e) {
      var hit = at(e);
      if (!hit) { tip.style.display = 'none'; u.over.style.cursor = ''; return; }
      var p = meta[hit.s][hit.i];
      tip.textContent = p[2] + (p[3] ? '\n(click: source page)' : '');
      tip.style.display = 'block';
      var px = u.valToPos(data[0][hit.i], 'x'), py = u.valToPos(data[hit.s][hit.i], 'y');
      tip.style.left = Math.min(px + 12, u.over.clientWidth - tip.offsetWidth - 2) + 'px';
      tip.style.top = (py + 12 + tip.offsetHeight > u.over.clientHeight ? py - tip.offsetHeight - 8 : py + 12) + 'px';
      u.over.style.cursor = p[3] ? 'pointer' : '';
    });
    u.over.addEventListener('mouseleave', function () { tip.style.display = 'none'; });
    u.over.addEventListener('click', function (e) {
      var h = at(e);
      if (h && meta[h.s][h.i][3]) { window.location.href = meta[h.s][h.i][3]; }
    });
    if (dropped > 0) {
      var n = document.createElement('p');
      n.className = 'note';
      n.textContent = dropped + ' point(s) not drawn (no value' + (spec.x.log || spec.y.log ? ', or not positive on a log axis' : '') + ').';
      el.appendChild(n);
    }
    var ro = new ResizeObserver(function () {
      if (Math.abs(u.width - el.clientWidth) > 1) { u.setSize({width: el.clientWidth, height: height(el)}); }
    });
    ro.observe(el);
    var chart = {
      el: el, u: u,
      // locate returns the page coordinates of the first point whose
      // href is href (tests click there), or null.
      locate: function (href) {
        for (var s = 1; s < meta.length; s++) {
          for (var i = 0; i < meta[s].length; i++) {
            if (meta[s][i] && meta[s][i][3] === href) {
              var r = u.over.getBoundingClientRect();
              return {x: r.left + u.valToPos(data[0][i], 'x'), y: r.top + u.valToPos(data[s][i], 'y')};
            }
          }
        }
        return null;
      }
    };
    GT.charts.push(chart);
    el.setAttribute('data-gt', 'ready');
    return chart;
  };

  // Tables: a click on a header of a "sortable" table sorts by each cell's
  // data-v (numerically when both parse); an input.gt-filter with
  // data-table=ID hides the rows of table #ID that do not hold every word
  // typed (case-insensitive).
  GT.tables = function () {
    document.querySelectorAll('table.sortable th').forEach(function (th) {
      th.addEventListener('click', function () {
        var tb = th.closest('table').tBodies[0], i = th.cellIndex, asc = th.getAttribute('data-dir') !== 'asc';
        th.closest('tr').querySelectorAll('th').forEach(function (o) { o.removeAttribute('data-dir'); });
        th.setAttribute('data-dir', asc ? 'asc' : 'desc');
        var rows = Array.prototype.slice.call(tb.rows);
        rows.sort(function (a, b) {
          var x = a.cells[i].getAttribute('data-v'), y = b.cells[i].getAttribute('data-v');
          var nx = parseFloat(x), ny = parseFloat(y);
          var c = (!isNaN(nx) && !isNaN(ny)) ? nx - ny : x.localeCompare(y);
          return asc ? c : -c;
        });
        rows.forEach(function (r) { tb.appendChild(r); });
      });
    });
    document.querySelectorAll('input.gt-filter').forEach(function (inp) {
      var t = document.getElementById(inp.getAttribute('data-table'));
      var count = document.getElementById(inp.getAttribute('data-table') + '-count');
      inp.addEventListener('input', function () {
        var words = inp.value.toLowerCase().split(/\s+/).filter(Boolean), shown = 0;
        Array.prototype.forEach.call(t.tBodies[0].rows, function (r) {
          var txt = r.textContent.toLowerCase();
          var ok = words.every(function (w) { return txt.indexOf(w) >= 0; });
          r.style.display = ok ? '' : 'none';
          if (ok) { shown++; }
        });
        if (count) { count.textContent = shown + ' of ' + t.tBodies[0].rows.length + ' rows'; }
      });
    });
  };

  // GT.draw draws every div.gt-plot from the spec in window.GTPLOTS under
  // its data-spec key, then sets up the tables.
  GT.draw = function () {
    document.querySelectorAll('div.gt-plot').forEach(function (el) {
      var spec = (window.GTPLOTS || {})[el.getAttribute('data-spec')];
      if (spec) { GT.plot(el, spec); }
    });
    GT.tables();
  };
}());
