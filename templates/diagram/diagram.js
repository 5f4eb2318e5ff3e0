// nself schema diagram --format html: search, zoom, pan and a table's neighbourhood over the
// SVG Graphviz laid out. Reads the tables and foreign keys from #diagram-data; changes only
// the SVG's viewBox and classes. Nothing is fetched.
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("diagram-data").textContent);
  var viewport = document.getElementById("viewport");
  var svg = viewport.querySelector("svg");
  var search = document.getElementById("search");
  var results = document.getElementById("results");
  var panel = document.getElementById("panel");
  var graph = svg.querySelector("g.graph");
  var MAX_RESULTS = 50;

  // ------------------------------------------------------------------ the graph
  var tables = {};
  data.tables.forEach(function (t) {
    t.parents = [];
    t.children = [];
    t.edges = [];
    tables[t.id] = t;
  });
  function addOnce(list, item) {
    if (list.indexOf(item) < 0) list.push(item);
  }
  data.foreign_keys.forEach(function (fk) {
    var child = tables[fk.child];
    var parent = tables[fk.parent];
    addOnce(child.parents, fk.parent);
    addOnce(parent.children, fk.child);
    addOnce(child.edges, fk.id);
    addOnce(parent.edges, fk.id);
  });
  function element(id) {
    return document.getElementById(id);
  }

  // ------------------------------------------------------------------ the view
  var box = svg.viewBox.baseVal;
  var full = { x: box.x, y: box.y, w: box.width, h: box.height };
  var view = { x: full.x, y: full.y, w: full.w, h: full.h };
  svg.removeAttribute("width");
  svg.removeAttribute("height");
  svg.setAttribute("preserveAspectRatio", "xMidYMid meet");
  function show() {
    svg.setAttribute("viewBox", [view.x, view.y, view.w, view.h].join(" "));
  }
  function fit() {
    view = { x: full.x, y: full.y, w: full.w, h: full.h };
    show();
  }
  function zoom(factor, at) {
    var point = at || { x: view.x + view.w / 2, y: view.y + view.h / 2 };
    var w = Math.min(Math.max(view.w * factor, full.w / 200), full.w * 4);
    var scale = w / view.w;
    view = {
      x: point.x - (point.x - view.x) * scale,
      y: point.y - (point.y - view.y) * scale,
      w: w,
      h: view.h * scale,
    };
    show();
  }
  function toUser(clientX, clientY) {
    var point = svg.createSVGPoint();
    point.x = clientX;
    point.y = clientY;
    return point.matrixTransform(svg.getScreenCTM().inverse());
  }
  // The box of the given elements in the SVG's user space (the graph group is transformed).
  function extent(elements) {
    var matrix = graph.transform.baseVal.consolidate();
    var m = matrix ? matrix.matrix : svg.createSVGMatrix();
    var x1 = Infinity, y1 = Infinity, x2 = -Infinity, y2 = -Infinity;
    elements.forEach(function (el) {
      var b = el.getBBox();
      [[b.x, b.y], [b.x + b.width, b.y + b.height]].forEach(function (c) {
        var x = m.a * c[0] + m.c * c[1] + m.e;
        var y = m.b * c[0] + m.d * c[1] + m.f;
        x1 = Math.min(x1, x); y1 = Math.min(y1, y); x2 = Math.max(x2, x); y2 = Math.max(y2, y);
      });
    });
    return { x: x1, y: y1, w: x2 - x1, h: y2 - y1 };
  }
  function focusOn(elements) {
    if (!elements.length) return;
    var b = extent(elements);
    var margin = Math.max(b.w, b.h) * 0.08 + 20;
    var w = b.w + 2 * margin, h = b.h + 2 * margin;
    var aspect = viewport.clientWidth / Math.max(viewport.clientHeight, 1) || 1;
    if (w / h < aspect) w = h * aspect; else h = w / aspect;
    view = { x: b.x + b.w / 2 - w / 2, y: b.y + b.h / 2 - h / 2, w: w, h: h };
    show();
  }

  viewport.addEventListener("wheel", function (event) {
    event.preventDefault();
    zoom(Math.pow(1.0015, event.deltaY), toUser(event.clientX, event.clientY));
  }, { passive: false });

  var drag = null;
  viewport.addEventListener("pointerdown", function (event) {
    if (event.button !== 0) return;
    drag = { x: event.clientX, y: event.clientY, view: view, moved: false, id: event.pointerId };
  });
  viewport.addEventListener("pointermove", function (event) {
    if (!drag) return;
    var dx = event.clientX - drag.x, dy = event.clientY - drag.y;
    if (!drag.moved && Math.abs(dx) + Math.abs(dy) < 4) return;
    if (!drag.moved) {
      drag.moved = true;
      viewport.classList.add("panning");
      viewport.setPointerCapture(drag.id);
    }
    var scale = svg.getScreenCTM().a;
    view = { x: drag.view.x - dx / scale, y: drag.view.y - dy / scale, w: drag.view.w, h: drag.view.h };
    show();
  });
  function endDrag() {
    viewport.classList.remove("panning");
    setTimeout(function () { drag = null; }, 0);
  }
  viewport.addEventListener("pointerup", endDrag);
  viewport.addEventListener("pointercancel", endDrag);
  viewport.addEventListener("click", function (event) {
    if (drag && drag.moved) return;
    var node = event.target.closest ? event.target.closest("g.node") : null;
    if (node && tables[node.id]) {
      event.preventDefault();
      select(node.id, false);
    } else {
      clear();
    }
  });

  document.getElementById("zoom-in").addEventListener("click", function () { zoom(1 / 1.4); });
  document.getElementById("zoom-out").addEventListener("click", function () { zoom(1.4); });
  document.getElementById("fit").addEventListener("click", fit);
  document.getElementById("only").addEventListener("change", function (event) {
    document.body.classList.toggle("only", event.target.checked);
  });

  // ------------------------------------------------------------------ schemas
  var schemaBar = document.getElementById("schemas");
  data.schemas.forEach(function (schema) {
    var group = element(schema.id);
    if (!group) return;
    var button = document.createElement("button");
    button.type = "button";
    button.textContent = schema.name;
    button.title = "Show schema " + schema.name;
    button.addEventListener("click", function () { focusOn([group]); });
    schemaBar.appendChild(button);
  });

  // ------------------------------------------------------------------ a table's neighbourhood
  var selected = null;
  function setClass(ids, name, on) {
    ids.forEach(function (id) {
      var el = element(id);
      if (el) el.classList.toggle(name, on);
    });
  }
  function clear() {
    if (selected) {
      var t = tables[selected];
      setClass([selected], "selected", false);
      setClass(hood(t), "in-hood", false);
      setClass(t.edges, "in-hood", false);
    }
    selected = null;
    svg.classList.remove("focused");
    panel.replaceChildren(intro);
  }
  function hood(t) {
    var ids = [t.id];
    t.parents.concat(t.children).forEach(function (id) { addOnce(ids, id); });
    return ids;
  }
  function tableList(title, ids, className) {
    var fragment = document.createDocumentFragment();
    var heading = document.createElement("h3");
    heading.textContent = title + " (" + ids.length + ")";
    fragment.appendChild(heading);
    var list = document.createElement("ul");
    list.className = className;
    ids.forEach(function (id) {
      var item = document.createElement("li");
      var button = document.createElement("button");
      button.type = "button";
      button.dataset.id = id;
      button.textContent = tables[id].label;
      button.addEventListener("click", function () { select(id, true); });
      item.appendChild(button);
      list.appendChild(item);
    });
    fragment.appendChild(list);
    return fragment;
  }
  function select(id, focus) {
    clear();
    var t = tables[id];
    selected = id;
    var ids = hood(t);
    svg.classList.add("focused");
    setClass(ids, "in-hood", true);
    setClass(t.edges, "in-hood", true);
    setClass([id], "selected", true);
    var heading = document.createElement("h2");
    heading.textContent = t.label;
    var kind = document.createElement("p");
    kind.className = "kind";
    kind.textContent = t.kind;
    panel.replaceChildren(heading, kind);
    panel.dataset.selected = id;
    panel.appendChild(tableList("References", t.parents, "parents"));
    panel.appendChild(tableList("Referenced by", t.children, "children"));
    if (t.partitions.length) {
      var h = document.createElement("h3");
      h.textContent = "Partitions (" + t.partitions.length + ")";
      var list = document.createElement("ul");
      list.className = "partitions";
      t.partitions.forEach(function (name) {
        var item = document.createElement("li");
        item.textContent = name;
        list.appendChild(item);
      });
      panel.appendChild(h);
      panel.appendChild(list);
    }
    if (focus) focusOn(ids.map(element).filter(Boolean));
  }
  var intro = panel.firstElementChild;

  // ------------------------------------------------------------------ search
  var matches = [];
  function matching(query) {
    if (!query) return [];
    return data.tables.filter(function (t) {
      return t.label.toLowerCase().indexOf(query) >= 0 || t.partitions.some(function (p) {
        return p.toLowerCase().indexOf(query) >= 0;
      });
    }).sort(function (a, b) {
      // exact names first, then names that start with the query
      function rank(t) {
        var name = t.name.toLowerCase();
        return name === query ? 0 : name.indexOf(query) === 0 ? 1 : 2;
      }
      return rank(a) - rank(b) || (a.label < b.label ? -1 : 1);
    });
  }
  function runSearch() {
    setClass(matches.map(function (t) { return t.id; }), "match", false);
    var query = search.value.trim().toLowerCase();
    matches = matching(query);
    setClass(matches.map(function (t) { return t.id; }), "match", true);
    results.replaceChildren();
    matches.slice(0, MAX_RESULTS).forEach(function (t) {
      var button = document.createElement("button");
      button.type = "button";
      button.dataset.id = t.id;
      button.textContent = t.label + (t.partitions.length ? " (" + t.partitions.length + " partitions)" : "");
      button.addEventListener("click", function () {
        results.hidden = true;
        select(t.id, true);
      });
      results.appendChild(button);
    });
    if (matches.length > MAX_RESULTS) {
      var more = document.createElement("div");
      more.className = "more";
      more.textContent = (matches.length - MAX_RESULTS) + " more";
      results.appendChild(more);
    }
    if (query && !matches.length) {
      var none = document.createElement("div");
      none.className = "more";
      none.textContent = "no table matches";
      results.appendChild(none);
    }
    results.hidden = !query;
  }
  search.addEventListener("input", runSearch);
  search.addEventListener("keydown", function (event) {
    if (event.key === "Enter" && matches.length) {
      results.hidden = true;
      select(matches[0].id, true);
    } else if (event.key === "Escape") {
      search.value = "";
      runSearch();
      search.blur();
    }
  });
  document.addEventListener("keydown", function (event) {
    if (event.target === search) return;
    if (event.key === "/") {
      event.preventDefault();
      search.focus();
    } else if (event.key === "Escape") {
      clear();
      results.hidden = true;
    } else if (event.key === "+" || event.key === "=") {
      zoom(1 / 1.4);
    } else if (event.key === "-") {
      zoom(1.4);
    } else if (event.key === "0") {
      fit();
    }
  });
  show();
})();
