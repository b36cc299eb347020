// cowsim view: draws one step of a run from the snapshots in the page.
//
// The Rust side (analysis/src/view_page.rs) put every step's snapshot in
// the <script id="cowsim-data"> element; this script only draws the step
// asked for and wires the controls. It uses no library and loads nothing,
// so the page works from a file:// address with no network.
//
// The step shown comes from the address when it names one (#op=5 or
// ?op=5), so a link can point at one op and a headless browser can be
// asked for the page at op 5; stepping rewrites the #op= part to match.
(function () {
  "use strict";

  var data = JSON.parse(document.getElementById("cowsim-data").textContent);
  var first = data.first;
  var last = data.last;
  var current = first;
  // An object with more pages than this shows the first ones and a count:
  // thousands of cells would make every step slow to draw.
  var PAGE_CELLS = 256;

  var worlds = document.getElementById("worlds");
  var slider = document.getElementById("slider");
  var jump = document.getElementById("jump");

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  function plural(n, noun) {
    return n + " " + noun + (n === 1 ? "" : "s");
  }

  // The op the address asks for, or null.
  function opFromAddress() {
    var sources = [window.location.hash.replace(/^#/, ""), window.location.search.replace(/^\?/, "")];
    for (var i = 0; i < sources.length; i++) {
      var parts = sources[i].split("&");
      for (var j = 0; j < parts.length; j++) {
        var pair = parts[j].split("=");
        if (pair[0] === "op" && /^[0-9]+$/.test(pair[1] || "")) return parseInt(pair[1], 10);
      }
    }
    return null;
  }

  function clamp(n) {
    if (isNaN(n)) return current;
    return Math.max(first, Math.min(last, n));
  }

  function objectLabel(object) {
    return object.file ? "file " + object.file + " (object " + object.id + ")" : "object " + object.id;
  }

  // Page index runs [first, count] as "0-3, 7".
  function rangesText(runs) {
    return runs
      .map(function (run) {
        return run[1] === 1 ? String(run[0]) : run[0] + "-" + (run[0] + run[1] - 1);
      })
      .join(", ");
  }

  function drawCounters(step, previous) {
    var box = el("div", "counters");
    var groups = [
      ["faults", step.counters.faults, previous && previous.counters.faults],
      ["pages", step.counters.pages, previous && previous.counters.pages],
      ["objects", step.counters.objects, previous && previous.counters.objects]
    ];
    groups.forEach(function (group) {
      var table = el("table", "counter-group");
      var caption = el("caption", null, group[0]);
      table.appendChild(caption);
      Object.keys(group[1]).forEach(function (name) {
        var row = el("tr", "counter");
        row.setAttribute("data-counter", group[0] + "." + name);
        if (group[2] && group[2][name] !== group[1][name]) row.className += " changed";
        row.appendChild(el("th", null, name.replace(/_/g, " ")));
        row.appendChild(el("td", null, group[1][name]));
        table.appendChild(row);
      });
      box.appendChild(table);
    });
    return box;
  }

  function drawTasks(step, objects) {
    var box = el("div", "tasks");
    box.appendChild(el("h3", null, plural(step.tasks.length, "task")));
    if (step.tasks.length === 0) box.appendChild(el("p", "empty", "no task is alive"));
    step.tasks.forEach(function (task) {
      var t = el("div", "task");
      t.setAttribute("data-task", task.id);
      var head = "task " + task.id;
      if (task.parent !== undefined) head += ", child of task " + task.parent;
      head += " — " + plural(task.mapped, "page") + " in its pmap";
      t.appendChild(el("h4", null, head));
      if (task.entries.length === 0) t.appendChild(el("p", "empty", "its map is empty"));
      task.entries.forEach(function (entry) {
        var row = el("div", "entry");
        var range = el("span", "range", entry.start + "-" + entry.end);
        range.title = plural(entry.pages, "page");
        row.appendChild(range);
        var flags = entry.prot + " (max " + entry.max_prot + "), inherit " + entry.inherit;
        if (entry.needs_copy) flags += ", needs copy";
        if (entry.shared) flags += ", shared";
        if (entry.offset !== 0) flags += ", from page " + entry.offset;
        // Flags and chain wrap together, so the ranges stay in one column.
        var what = el("span", "what");
        what.appendChild(el("span", "flags", flags));
        var chain = el("span", "chain");
        entry.chain.forEach(function (id, depth) {
          if (depth > 0) chain.appendChild(el("span", "arrow", "→"));
          var object = objects[id];
          var link = el("span", "link role-" + (object ? object.role : "gone"), "object " + id);
          link.title = object ? object.role + ", " + plural(object.resident, "page") + " resident" : "";
          chain.appendChild(link);
        });
        what.appendChild(chain);
        row.appendChild(what);
        t.appendChild(row);
      });
      box.appendChild(t);
    });
    return box;
  }

  // The holders of the pages an object draws, by index: only the first
  // PAGE_CELLS, so comparing two steps costs no more than drawing one.
  function drawnHolders(object) {
    var holders = {};
    var drawn = 0;
    object.pages.forEach(function (run) {
      for (var i = 0; i < run[1] && drawn < PAGE_CELLS; i++, drawn++) holders[run[0] + i] = run[2];
    });
    return holders;
  }

  function drawObjects(step, previous) {
    var before = {};
    if (previous) previous.objects.forEach(function (o) { before[o.id] = o; });
    var box = el("div", "objects");
    var pages = 0;
    step.objects.forEach(function (o) { pages += o.resident; });
    var head = el("h3");
    head.appendChild(el("span", "object-count", step.objects.length));
    head.appendChild(document.createTextNode(step.objects.length === 1 ? " object, " : " objects, "));
    head.appendChild(el("span", "page-count", pages));
    head.appendChild(document.createTextNode(pages === 1 ? " resident page" : " resident pages"));
    box.appendChild(head);
    step.objects.forEach(function (object) {
      var o = el("div", "object role-" + object.role);
      o.setAttribute("data-object", object.id);
      if (previous && !before[object.id]) o.className += " new";
      var hidden = {};
      var hiddenCount = 0;
      object.hidden.forEach(function (run) {
        for (var i = 0; i < run[1]; i++) hidden[run[0] + i] = true;
        hiddenCount += run[1];
      });
      if (hiddenCount > 0) o.className += " has-hidden";
      var words = [objectLabel(object), object.role];
      // A file's size is effectively endless (see ObjectView::size): a
      // sixteen-digit number would only hide the rest of the line.
      if (object.role !== "file") words.push("size " + object.size);
      words.push(plural(object.refs, "ref"));
      if (object.shadow) {
        words.push("shadows object " + object.shadow[0] + (object.shadow[1] ? " from page " + object.shadow[1] : ""));
      }
      if (object.copy !== undefined) words.push("copy object " + object.copy);
      o.appendChild(el("h4", null, words.join(" · ")));
      var cells = el("div", "pages");
      var drawn = 0;
      // Pages that appeared or changed holders at this op are marked, so
      // the eye goes straight to what the op did.
      var had = previous && before[object.id] ? drawnHolders(before[object.id]) : null;
      object.pages.forEach(function (run) {
        for (var i = 0; i < run[1] && drawn < PAGE_CELLS; i++, drawn++) {
          var index = run[0] + i;
          var className = "page" + (hidden[index] ? " hidden" : "");
          if (previous && (!had || had[index] !== run[2])) className += " changed";
          var cell = el("span", className, index);
          cell.title = "page " + index + ": " + plural(run[2], "holder") + (hidden[index] ? ", hidden" : "");
          if (run[2] !== 1) cell.appendChild(el("sup", "holders", "×" + run[2]));
          cells.appendChild(cell);
        }
      });
      if (object.resident > drawn) cells.appendChild(el("span", "more", "… " + (object.resident - drawn) + " more"));
      if (object.resident === 0) cells.appendChild(el("span", "empty", "no resident page"));
      o.appendChild(cells);
      if (hiddenCount > 0) {
        o.appendChild(el("p", "hidden-note", plural(hiddenCount, "hidden page") + ": " + rangesText(object.hidden)));
      }
      box.appendChild(o);
    });
    return box;
  }

  function drawWorld(run) {
    var step = run.steps[current - first];
    var previous = current > first ? run.steps[current - first - 1] : null;
    var section = el("section", "world");
    section.setAttribute("data-policy", run.policy);
    section.appendChild(el("h2", null, run.policy));
    section.appendChild(el("pre", "narration", step ? step.narration : ""));
    if (!step) return section;
    var objects = {};
    step.objects.forEach(function (o) { objects[o.id] = o; });
    section.appendChild(drawCounters(step, previous));
    section.appendChild(drawTasks(step, objects));
    section.appendChild(drawObjects(step, previous));
    return section;
  }

  function show(n) {
    current = clamp(n);
    while (worlds.firstChild) worlds.removeChild(worlds.firstChild);
    data.runs.forEach(function (run) { worlds.appendChild(drawWorld(run)); });
    worlds.className = "runs-" + data.runs.length;
    document.getElementById("op-number").textContent = current;
    slider.value = current;
    jump.value = current;
    document.getElementById("prev").disabled = current <= first;
    document.getElementById("first").disabled = current <= first;
    document.getElementById("next").disabled = current >= last;
    document.getElementById("last").disabled = current >= last;
    if (opFromAddress() !== current) {
      try {
        window.history.replaceState(null, "", "#op=" + current);
      } catch (e) {
        // Some browsers refuse to touch a file:// address; stepping works anyway.
      }
    }
  }

  document.getElementById("op-last").textContent = last;
  slider.min = first;
  slider.max = last;
  jump.min = first;
  jump.max = last;
  document.getElementById("first").addEventListener("click", function () { show(first); });
  document.getElementById("prev").addEventListener("click", function () { show(current - 1); });
  document.getElementById("next").addEventListener("click", function () { show(current + 1); });
  document.getElementById("last").addEventListener("click", function () { show(last); });
  slider.addEventListener("input", function () { show(parseInt(slider.value, 10)); });
  jump.addEventListener("change", function () { show(parseInt(jump.value, 10)); });
  window.addEventListener("hashchange", function () {
    var asked = opFromAddress();
    if (asked !== null && asked !== current) show(asked);
  });
  document.addEventListener("keydown", function (event) {
    // The slider and the box handle their own keys.
    if (event.target && event.target.tagName === "INPUT") return;
    if (event.key === "ArrowRight") show(current + 1);
    else if (event.key === "ArrowLeft") show(current - 1);
    else if (event.key === "Home") show(first);
    else if (event.key === "End") show(last);
    else return;
    event.preventDefault();
  });

  var asked = opFromAddress();
  show(asked === null ? first : asked);
})();
