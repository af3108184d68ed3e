/* 连心 · 党建工作看板: draws the reports of the gateway's JSON API with ECharts
 * (vendored in /dashboard/vendor, no CDN).
 *
 * The view is in the page URL: /dashboard?org_unit_id=&from=&to=&community=
 * (every parameter optional: the top of the tree, the current calendar year,
 * the first community under the unit), so a link opens a given view.
 *
 * After drawing, the page writes what each chart holds (read back from the
 * chart with getOption(), not from the fetched JSON) into
 * <script type="application/json" id="rendered">, and sets
 * <body data-ready="1">, or data-error="..." when something failed (also
 * shown on the page). data-done="1" is set in both cases.
 */
(function () {
  "use strict";

  var API = "/api/v1";

  // The API needs a key (docs/security.md). It is given once in the address as
  // #token=<key> (a fragment never reaches a server or its logs), then kept for
  // this tab only and taken out of the address bar.
  var TOKEN = (function () {
    var found = /(?:^#|&)token=([^&]+)/.exec(location.hash || "");
    try {
      if (found) {
        sessionStorage.setItem("lianxin.token", decodeURIComponent(found[1]));
        history.replaceState(null, "", location.pathname + location.search);
      }
      return sessionStorage.getItem("lianxin.token");
    } catch (e) {
      return found ? decodeURIComponent(found[1]) : null;   // storage off: this page view only
    }
  })();
  var LEVELS = { district: "区", street: "街道", zone: "管区", community: "社区", grid: "网格" };
  var STOP_AT = { community: true, grid: true };   // the pickers go down to communities
  var PALETTE = ["#c23531", "#2f4554", "#61a0a8", "#d48265", "#91c7ae", "#749f83", "#ca8622", "#bda29a",
                 "#6e7074", "#546570", "#c4ccd3", "#e0a84a"];
  var HEADLINE = [
    ["members.party_members", "党员", "人"],
    ["members.total", "在册人员", "人"],
    ["household_links", "联系户", "户"],
    ["deeds.total", "为民办实事", "件"],
    ["deeds.members_with_deeds", "办实事党员", "人"],
    ["activities.total", "组织生活", "次"],
    ["inspections.units_inspected", "巡诊社区", "个"],
    ["inspections.findings", "发现问题", "个"],
    ["inspections.rectified", "已整改", "个"],
    ["inspections.overdue", "逾期未整改", "个"],
    ["honours.collective", "先进集体", "个"],
    ["honours.individual", "先进个人", "人"],
    ["honours.from_higher_bodies", "上级表彰", "项"],
    ["cases.difficult_matters_solved", "解决难事", "件"],
    ["cases.disputes_mediated", "调解纠纷", "起"]
  ];

  var rendered = {};
  var errors = [];
  var charts = [];

  // -- small helpers ------------------------------------------------------------------
  function $(id) { return document.getElementById(id); }

  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  function dig(obj, dotted) {
    return dotted.split(".").reduce(function (o, k) { return o == null ? undefined : o[k]; }, obj);
  }

  function query(params) {
    var q = new URLSearchParams();
    Object.keys(params).forEach(function (k) {
      if (params[k] !== undefined && params[k] !== null && params[k] !== "") q.set(k, params[k]);
    });
    var s = q.toString();
    return s ? "?" + s : "";
  }

  function getJSON(path, params) {
    var url = API + path + query(params || {});
    var headers = { Accept: "application/json" };
    if (TOKEN) headers.Authorization = "Bearer " + TOKEN;
    return fetch(url, { headers: headers }).then(function (response) {
      return response.text().then(function (text) {
        var body = null;
        try { body = text ? JSON.parse(text) : null; } catch (e) { body = null; }
        if (!response.ok) {
          var detail = body && (body.detail || body.title) ? (body.detail || body.title) : text.slice(0, 200);
          if (response.status === 401) detail += "（请在地址后加 #token=<API 密钥> 再打开）";
          throw new Error("GET " + path + " → " + response.status + "：" + detail);
        }
        if (body === null) throw new Error("GET " + path + " → 不是 JSON");
        return body;
      });
    });
  }

  var reported = [];
  function fail(section, error) {
    var raw = error && error.message ? error.message : String(error);
    if (reported.indexOf(raw) >= 0) return;      // one cause (say the summary failed), said once
    reported.push(raw);
    var message = section + "：" + raw;
    errors.push(message);
    var box = $("errors");
    box.hidden = false;
    box.appendChild(el("div", {}, message));
    if (window.console) console.error(message);
  }

  function panelMessage(chartId, message) {
    var node = $(chartId);
    node.classList.add("failed");
    node.textContent = message;
  }

  function makeChart(id, option) {
    var node = $(id);
    var chart = echarts.getInstanceByDom(node) || echarts.init(node, null, { renderer: "canvas" });
    option.animation = false;
    chart.setOption(option, true);
    charts.push(chart);
    return chart;
  }

  function emptyTitle(isEmpty) {
    return isEmpty ? { text: "所选范围内暂无数据", left: "center", top: "middle",
                       textStyle: { color: "#999", fontSize: 14, fontWeight: "normal" } } : undefined;
  }

  function pct(rate) { return rate === null || rate === undefined ? null : Math.round(rate * 1000) / 10; }

  function currentYear() {
    var y = new Date().getFullYear();
    return { from: y + "-01-01", to: y + "-12-31" };
  }

  function unitLabel(unit, depth) {
    return "\u3000".repeat(depth) + unit.name + (LEVELS[unit.level] && unit.name.slice(-LEVELS[unit.level].length)
      !== LEVELS[unit.level] ? "（" + LEVELS[unit.level] + "）" : "");
  }

  // -- the org unit tree, for the pickers ---------------------------------------------
  function loadTree(unitId) {
    return getJSON("/org-units/" + encodeURIComponent(unitId)).then(function (unit) {
      var rootId = unit.path && unit.path.length ? unit.path[0] : unit.id;
      return getJSON("/org-units/" + encodeURIComponent(rootId)).then(function (root) {
        var ordered = [{ unit: root, depth: 0 }];
        function expand(entries) {
          var open = entries.filter(function (e) { return !STOP_AT[e.unit.level]; });
          if (!open.length) return Promise.resolve();
          return Promise.all(open.map(function (e) {
            return getJSON("/org-units/" + encodeURIComponent(e.unit.id) + "/children").then(function (kids) {
              var children = (kids || []).map(function (k) { return { unit: k, depth: e.depth + 1 }; });
              var at = ordered.indexOf(e);
              Array.prototype.splice.apply(ordered, [at + 1, 0].concat(children));
              return children;
            });
          })).then(function (lists) { return expand([].concat.apply([], lists)); });
        }
        return expand(ordered.slice()).then(function () { return { selected: unit, units: ordered }; });
      });
    });
  }

  function fillPickers(tree, selectedId, communityId) {
    var picker = $("org-unit");
    picker.innerHTML = "";
    tree.units.forEach(function (e) {
      var option = el("option", { value: e.unit.id }, unitLabel(e.unit, e.depth));
      if (e.unit.id === selectedId) option.selected = true;
      picker.appendChild(option);
    });
    var communities = tree.units.filter(function (e) {
      return e.unit.level === "community" && (e.unit.path || []).indexOf(selectedId) >= 0;
    }).map(function (e) { return e.unit; });
    if (!communities.length) communities = [tree.selected];
    var chosen = communityId || communities[0].id;
    var select = $("community");
    select.innerHTML = "";
    var known = false;
    communities.forEach(function (c) {
      var option = el("option", { value: c.id }, c.name);
      if (c.id === chosen) { option.selected = true; known = true; }
      select.appendChild(option);
    });
    if (!known) {   // a community named in the URL outside the unit: still shown
      var extra = el("option", { value: chosen }, chosen);
      extra.selected = true;
      select.appendChild(extra);
    }
    picker.addEventListener("change", function () { $("community").value = ""; $("controls").submit(); });
    select.addEventListener("change", function () { $("controls").submit(); });
    return chosen;
  }

  // -- headline figures ---------------------------------------------------------------
  function drawHeadline(summary) {
    var box = $("headline");
    box.innerHTML = "";
    var byKind = (summary.activities && summary.activities.by_kind) || {};
    var higher = (summary.honours && summary.honours.from_higher_bodies) || [];
    var figures = Object.assign({}, summary, {
      activities: { total: Object.keys(byKind).reduce(function (s, k) { return s + byKind[k]; }, 0) },
      honours: Object.assign({}, summary.honours, {
        from_higher_bodies: higher.reduce(function (s, h) { return s + (h.count || 0); }, 0)
      })
    });
    HEADLINE.forEach(function (h) {
      var value = dig(figures, h[0]);
      var card = el("div", { "class": "figure", "data-key": h[0] });
      card.appendChild(el("span", { "class": "value" }, value === undefined ? "—" : value));
      card.appendChild(el("span", { "class": "unit" }, h[2]));
      card.appendChild(el("span", { "class": "label" }, h[1]));
      box.appendChild(card);
    });
    // What was drawn, read back from the page.
    var shown = {};
    Array.prototype.forEach.call(box.querySelectorAll(".figure"), function (card) {
      var text = card.querySelector(".value").textContent;
      shown[card.getAttribute("data-key")] = /^-?\d+(\.\d+)?$/.test(text) ? Number(text) : text;
    });
    rendered.headline = shown;
  }

  // -- deeds per week per community ---------------------------------------------------
  function drawDeeds(report) {
    var rows = report.rows || [];
    var weeks = [], communities = [], names = {}, cells = {};
    rows.forEach(function (r) {
      if (weeks.indexOf(r.week) < 0) weeks.push(r.week);
      if (communities.indexOf(r.org_unit_id) < 0) communities.push(r.org_unit_id);
      names[r.org_unit_id] = r.org_unit_name || r.org_unit_id;
      cells[r.org_unit_id + "|" + r.week] = (cells[r.org_unit_id + "|" + r.week] || 0) + (r.deeds || 0);
    });
    weeks.sort();
    var busy = weeks.map(function (w) {
      return communities.some(function (id) { return cells[id + "|" + w]; });
    });
    var first = busy.indexOf(true), last = busy.lastIndexOf(true);
    var slider = weeks.length > 26;
    var chart = makeChart("chart-deeds", {
      color: PALETTE,
      title: emptyTitle(!rows.length),
      tooltip: { trigger: "axis", axisPointer: { type: "shadow" } },
      legend: { type: "scroll", top: 0 },
      grid: { left: 48, right: 24, top: 40, bottom: slider ? 92 : 56 },
      xAxis: { type: "category", data: weeks, axisLabel: { rotate: weeks.length > 12 ? 45 : 0 } },
      yAxis: { type: "value", name: "件", minInterval: 1 },
      // A long period opens on the weeks that have deeds; the slider shows the rest.
      dataZoom: slider ? [{ type: "slider", bottom: 6, height: 18, labelFormatter: function (i) { return weeks[i]; },
                            startValue: first < 0 ? 0 : Math.max(0, first - 4),
                            endValue: first < 0 ? weeks.length - 1 : Math.min(weeks.length - 1, last + 4) }] : [],
      series: communities.map(function (id) {
        return { id: id, name: names[id], type: "bar", stack: "deeds", barMaxWidth: 56, emphasis: { focus: "series" },
                 data: weeks.map(function (w) { return cells[id + "|" + w] || 0; }) };
      })
    });
    var option = chart.getOption();
    var series = {};
    option.series.forEach(function (s) { series[s.id] = { name: s.name, data: s.data.slice() }; });
    rendered.deeds_by_week = { weeks: option.xAxis[0].data.slice(), series: series };
  }

  // -- 三会一课 compliance heat map ------------------------------------------------------
  function drawCompliance(report) {
    var rows = report.rows || [];
    var months = [], units = [], names = {};
    rows.forEach(function (r) {
      if (months.indexOf(r.month) < 0) months.push(r.month);
      if (units.indexOf(r.org_unit_id) < 0) units.push(r.org_unit_id);
      names[r.org_unit_id] = r.org_unit_name || r.org_unit_id;
    });
    months.sort();
    var cell = function (r) {
      return { value: [months.indexOf(r.month), units.indexOf(r.org_unit_id), pct(r.rate)],
               held: r.held, due: r.due, missed: r.missed };
    };
    var rated = rows.filter(function (r) { return pct(r.rate) !== null; }).map(cell);
    var nothingDue = rows.filter(function (r) { return pct(r.rate) === null; }).map(function (r) {
      var c = cell(r);
      c.value[2] = 0;      // drawn grey, outside the colour scale
      c.nothingDue = true;
      return c;
    });
    var chart = makeChart("chart-compliance", {
      title: emptyTitle(!rows.length),
      tooltip: {
        position: "top",
        formatter: function (p) {
          var d = p.data;
          return names[units[d.value[1]]] + " " + months[d.value[0]] + "<br>应开 " + d.due + " 次，已开 " + d.held +
            " 次，缺 " + d.missed + " 次" + (d.nothingDue ? "（本月无要求）" : "，完成率 " + d.value[2] + "%");
        }
      },
      grid: { left: 130, right: 24, top: 16, bottom: 72 },
      xAxis: { type: "category", data: months, splitArea: { show: true } },
      yAxis: { type: "category", data: units, inverse: true, splitArea: { show: true },
               axisLabel: { formatter: function (id) { return names[id] || id; } } },
      visualMap: { min: 0, max: 100, calculable: false, orient: "horizontal", left: "center", bottom: 4,
                   seriesIndex: 0, text: ["100%", "完成率 0%"], itemHeight: 120,
                   inRange: { color: ["#d94e5d", "#eac736", "#50a3ba"] } },
      series: [{ id: "compliance", name: "完成率", type: "heatmap", data: rated,
                 itemStyle: { borderColor: "#fff", borderWidth: 1 },
                 label: { show: true, formatter: function (p) { return p.data.held + "/" + p.data.due; } },
                 emphasis: { itemStyle: { shadowBlur: 8, shadowColor: "rgba(0,0,0,0.4)" } } },
               { id: "nothing_due", name: "本月无要求", type: "heatmap", data: nothingDue,
                 itemStyle: { color: "#eeeeee", borderColor: "#fff", borderWidth: 1 },
                 label: { show: true, color: "#aaa", formatter: "—" } }]
    });
    var option = chart.getOption();
    var xs = option.xAxis[0].data, ys = option.yAxis[0].data;
    var cells = [];
    option.series.forEach(function (s) {
      s.data.forEach(function (d) {
        cells.push([xs[d.value[0]], ys[d.value[1]], d.nothingDue ? null : d.value[2], d.held, d.due]);
      });
    });
    rendered.compliance = { months: xs.slice(), units: ys.slice(), cells: cells };
  }

  // -- rectification status by zone ---------------------------------------------------
  // The report's zones: findings = rectified + open, and overdue is the part of
  // open past its due date. The bars stack rectified, open not yet due, overdue.
  function drawRectification(report) {
    var zones = report.zones || [];
    var parts = {
      rectified: function (z) { return z.rectified || 0; },
      pending: function (z) { return (z.open || 0) - (z.overdue || 0); },
      overdue: function (z) { return z.overdue || 0; }
    };
    var keys = [["rectified", "已整改", "#91c7ae"], ["pending", "整改中（未逾期）", "#eac736"],
                ["overdue", "逾期未整改", "#d94e5d"]];
    var chart = makeChart("chart-rectification", {
      title: emptyTitle(!zones.length),
      tooltip: { trigger: "axis", axisPointer: { type: "shadow" } },
      legend: { top: 0 },
      grid: { left: 40, right: 16, top: 36, bottom: 40 },
      xAxis: { type: "category", data: zones.map(function (z) { return z.zone_name || z.zone_id || "（未分管区）"; }),
               axisLabel: { interval: 0, rotate: zones.length > 6 ? 30 : 0 } },
      yAxis: { type: "value", name: "个", minInterval: 1 },
      series: keys.map(function (k) {
        return { id: k[0], name: k[1], type: "bar", stack: "findings", barMaxWidth: 56, itemStyle: { color: k[2] },
                 label: { show: true, formatter: function (p) { return p.value ? p.value : ""; } },
                 data: zones.map(parts[k[0]]) };
      })
    });
    var option = chart.getOption();
    var drawn = {};
    option.series.forEach(function (s) { drawn[s.id] = s.data.slice(); });
    rendered.rectification_by_zone = {
      zones: zones.map(function (z) { return z.zone_id; }), names: option.xAxis[0].data.slice(),
      series: {
        rectified: drawn.rectified, overdue: drawn.overdue, pending: drawn.pending,
        open: drawn.pending.map(function (v, i) { return v + drawn.overdue[i]; }),
        findings: drawn.pending.map(function (v, i) { return v + drawn.overdue[i] + drawn.rectified[i]; })
      }
    };
  }

  // -- honours by category ------------------------------------------------------------
  function drawHonours(summary) {
    var byCategory = (summary.honours && summary.honours.by_category) || {};
    var names = Object.keys(byCategory).sort(function (a, b) {
      return byCategory[a] - byCategory[b] || (a < b ? 1 : -1);
    });
    var chart = makeChart("chart-honours", {
      title: emptyTitle(!names.length),
      tooltip: { trigger: "axis", axisPointer: { type: "shadow" } },
      grid: { left: 16, right: 40, top: 16, bottom: 24, containLabel: true },
      xAxis: { type: "value", minInterval: 1 },
      yAxis: { type: "category", data: names,
               axisLabel: { width: 200, overflow: "truncate" } },
      series: [{ id: "honours", name: "表彰", type: "bar", barMaxWidth: 32, itemStyle: { color: "#c23531" },
                 label: { show: true, position: "right" },
                 data: names.map(function (n) { return byCategory[n]; }) }]
    });
    var option = chart.getOption();
    var out = {};
    option.yAxis[0].data.forEach(function (n, i) { out[n] = option.series[0].data[i]; });
    rendered.honours_by_category = out;
  }

  // -- the household-link chart of a community ----------------------------------------
  function drawLinks(chartData) {
    var unit = chartData.org_unit || {};
    $("links-title").textContent = "党员联户图 · " + (unit.name || unit.id || "");
    var nodes = [], links = [];
    (chartData.members || []).forEach(function (m) {
      var households = m.households || [];
      nodes.push({ id: "m:" + m.member_id, name: m.name, category: 0,
                   symbolSize: 14 + 3 * Math.min(households.length, 6), value: households.length });
      households.forEach(function (h) {
        nodes.push({ id: "h:" + h.household_id, name: h.address || h.household_id, category: 1, symbolSize: 7 });
        links.push({ source: "m:" + m.member_id, target: "h:" + h.household_id });
      });
    });
    (chartData.unlinked_households || []).forEach(function (h) {
      nodes.push({ id: "h:" + h.household_id, name: h.address || h.household_id, category: 2, symbolSize: 7 });
    });
    var chart = makeChart("chart-links", {
      title: emptyTitle(!nodes.length),
      tooltip: { formatter: function (p) {
        if (p.dataType === "edge") return "";
        return p.data.category === 0 ? "党员 " + p.data.name + "：联系 " + p.data.value + " 户" : "住户 " + p.data.name;
      } },
      legend: { top: 0, data: ["党员", "联系户", "未联系户"] },
      series: [{
        id: "links", type: "graph", layout: "force", roam: true, draggable: true,
        categories: [{ name: "党员", itemStyle: { color: "#c23531" } },
                     { name: "联系户", itemStyle: { color: "#61a0a8" } },
                     { name: "未联系户", itemStyle: { color: "#bbbbbb" } }],
        top: 36, bottom: 8,
        // Spread a small community out; keep a large one together, inside the panel.
        force: nodes.length < 60 ? { repulsion: 260, edgeLength: [40, 80], gravity: 0.08, layoutAnimation: false }
                                 : { repulsion: 60, edgeLength: [12, 28], gravity: 0.2, layoutAnimation: false },
        label: { show: true, position: "right", fontSize: 11,
                 formatter: function (p) { return p.data.category === 0 ? p.data.name : ""; } },
        lineStyle: { color: "#9aa", width: 1, opacity: 0.8 },
        data: nodes, links: links
      }]
    });
    var series = chart.getOption().series[0];
    var count = function (c) { return series.data.filter(function (n) { return n.category === c; }).length; };
    rendered.household_links = { org_unit_id: unit.id, nodes: series.data.length, links: series.links.length,
                                 members: count(0), households: count(1), unlinked_households: count(2) };
  }

  function showFreshness(f) {
    var parts = ["已汇总 " + f.events_applied + " 个事件"];
    if (f.last_applied_at) parts.push("最近一次 " + f.last_applied_at.replace("T", " ").slice(0, 19));
    if (f.waiting_total) parts.push("尚有 " + f.waiting_total + " 条待处理");
    $("freshness").textContent = parts.join("，") + "。";
  }

  function publish() {
    var json = JSON.stringify(rendered).replace(/</g, "\\u003c");
    $("rendered").textContent = json;
  }

  // -- the page -----------------------------------------------------------------------
  function section(name, promise, draw, chartId) {
    return promise.then(draw).catch(function (error) {
      fail(name, error);
      if (chartId) panelMessage(chartId, "加载失败：" + (error && error.message ? error.message : error));
    });
  }

  function main() {
    var url = new URLSearchParams(location.search);
    // Default: the current calendar year; one end given, the rest of its year.
    var year = currentYear();
    var period = { from: url.get("from") || "", to: url.get("to") || "" };
    if (!period.from) period.from = period.to ? period.to.slice(0, 4) + "-01-01" : year.from;
    if (!period.to) period.to = url.get("from") ? period.from.slice(0, 4) + "-12-31" : year.to;
    $("from").value = period.from;
    $("to").value = period.to;
    var requested = url.get("org_unit_id") || "";

    // The summary names the unit (and, with none asked, the top of the tree).
    var summary = getJSON("/reports/summary", { org_unit_id: requested, from: period.from, to: period.to });
    var started = summary.then(function (s) {
      var unitId = s.org_unit_id;
      $("scope-title").textContent = (s.org_unit_name || unitId) + " · " + s.from + " 至 " + s.to;
      document.title = "连心 · " + (s.org_unit_name || unitId) + " 党建工作看板";
      return unitId;
    });
    var scope = function (unitId) { return { org_unit_id: unitId, from: period.from, to: period.to }; };

    var tasks = [
      section("主要数字", summary, drawHeadline),
      section("表彰情况", summary, drawHonours, "chart-honours"),
      section("为民办实事", started.then(function (id) {
        return getJSON("/reports/deeds", Object.assign(scope(id), { by: "week" }));
      }), drawDeeds, "chart-deeds"),
      section("三会一课", started.then(function (id) { return getJSON("/reports/compliance", scope(id)); }),
              drawCompliance, "chart-compliance"),
      section("巡诊整改", started.then(function (id) { return getJSON("/reports/inspections", scope(id)); }),
              drawRectification, "chart-rectification"),
      section("党员联户图", started.then(function (id) {
        var community = url.get("community") || "";
        return loadTree(id).then(function (tree) { return fillPickers(tree, id, community); }, function (error) {
          fail("组织单位", error);               // no pickers; the chart of the community asked for, or the unit
          return community || id;
        }).then(function (chosen) {
          return getJSON("/org-units/" + encodeURIComponent(chosen) + "/household-links");
        });
      }), drawLinks, "chart-links"),
      getJSON("/reports/freshness").then(showFreshness).catch(function () { /* shown as "—" */ }),
      // The unit asked for is not there (or the period is wrong): say so, and
      // still offer the tree from its top so another view can be picked.
      started.then(function () {}, function () {
        $("scope-title").textContent = "加载失败";
        return getJSON("/reports/summary", {}).then(function (top) {
          return loadTree(top.org_unit_id).then(function (tree) {
            fillPickers(tree, requested && tree.units.some(function (e) { return e.unit.id === requested; })
              ? requested : top.org_unit_id, "");
          });
        }).catch(function () { /* the error above is what matters */ });
      })
    ];

    Promise.all(tasks).then(function () {
      publish();
      if (errors.length) document.body.dataset.error = errors.join("；");
      else document.body.dataset.ready = "1";
      document.body.dataset.done = "1";
    });
  }

  window.addEventListener("resize", function () { charts.forEach(function (c) { c.resize(); }); });
  if (typeof echarts === "undefined") {
    fail("图表库", new Error("/dashboard/vendor/echarts.min.js 未能加载"));
    document.body.dataset.error = errors.join("；");
    document.body.dataset.done = "1";
  } else {
    main();
  }
})();
