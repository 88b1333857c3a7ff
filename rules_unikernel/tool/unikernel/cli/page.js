"use strict";
// Draws the page from the JSON in #data (written by unikernel/cli/page.py).
// Every value from the image goes through textContent or setAttribute, never
// through markup: a symbol called <script> stays the text "<script>".
(function () {
  const SVG = "http://www.w3.org/2000/svg";
  const PAGE = 4096;
  const WIDTH = 960;
  const data = JSON.parse(document.getElementById("data").textContent);
  const root = document.getElementById("page");
  root.textContent = "";

  function add(node, children) {
    for (const child of children) {
      if (child === null || child === undefined || child === false) continue;
      if (Array.isArray(child)) add(node, child);
      else node.appendChild(typeof child === "object" ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) node.setAttribute(key, String(value));
    return add(node, children);
  }

  function svg(tag, attrs, ...children) {
    const node = document.createElementNS(SVG, tag);
    for (const [key, value] of Object.entries(attrs || {})) node.setAttribute(key, String(value));
    return add(node, children);
  }

  function tip(text) {
    return svg("title", {}, text);
  }

  function fmt(n) {
    return Number(n).toLocaleString("en-US");
  }

  function bytes(n) {
    return fmt(n) + " B";
  }

  function signed(n) {
    return (n > 0 ? "+" : "") + fmt(n);
  }

  function hex(n) {
    return "0x" + Number(n).toString(16);
  }

  function permClass(perm) {
    return ["r-x", "r--", "rw-"].includes(perm) ? "perm-" + perm : "perm-other";
  }

  // The longest prefix of `text` that fits in `width` SVG units at 11px.
  function fit(text, width) {
    const n = Math.floor((width - 6) / 6.4);
    if (n < 2) return "";
    return text.length <= n ? text : text.slice(0, n - 1) + "\u2026";
  }

  function table(columns, rows, attrs) {
    const head = el("tr", {}, columns.map((c) => el("th", c.num ? { class: "num" } : {}, c.title)));
    const body = rows.map((row) =>
      el(
        "tr",
        row.attrs || {},
        row.cells.map((cell, i) => {
          const cls = [columns[i].num ? "num" : "", columns[i].mono ? "mono" : "", row.classes ? row.classes[i] || "" : ""];
          return el("td", { class: cls.filter(Boolean).join(" ") }, cell);
        })
      )
    );
    return el("table", attrs || {}, el("thead", {}, head), el("tbody", {}, body));
  }

  function facts(pairs) {
    return el("dl", { class: "facts" }, pairs.filter((p) => p[1] !== "" && p[1] !== null).map((p) => [el("dt", {}, p[0]), el("dd", {}, p[1])]));
  }

  function legend() {
    return el(
      "p",
      { class: "legend note" },
      [["r-x", "code: read, execute"], ["r--", "read only"], ["rw-", "read, write"]].map(([perm, text]) =>
        el("span", {}, svgSwatch(perm), perm + " " + text)
      ),
      el("span", {}, "Nothing is both writable and executable (W^X); groups of different permissions never share a page.")
    );
  }

  function svgSwatch(perm) {
    return svg("svg", { class: "swatch", width: 10, height: 10, viewBox: "0 0 10 10" }, svg("rect", { width: 10, height: 10, class: permClass(perm) }));
  }

  // ---- the memory layout, to scale ----

  function regionsOf(view) {
    if (view.seal && view.seal.regions.length) return view.seal.regions;
    return view.segments
      .filter((s) => s.type === "PT_LOAD")
      .map((s) => ({ kind: s.sections.join(" ") || "PT_LOAD " + s.index, perm: s.perm, start: s.start, end: s.end, start_hex: s.start_hex, end_hex: s.end_hex }));
  }

  function extent(view) {
    const loads = view.segments.filter((s) => s.type === "PT_LOAD");
    const regions = regionsOf(view);
    const starts = loads.map((s) => Math.floor(s.start / PAGE) * PAGE).concat(regions.map((r) => r.start));
    const ends = loads.map((s) => Math.ceil(s.end / PAGE) * PAGE).concat(regions.map((r) => r.end));
    if (!starts.length) return null;
    const base = Math.min(...starts);
    return { base: base, span: Math.max(1, Math.max(...ends) - base) };
  }

  function drawLayout(view, span) {
    const ext = extent(view);
    if (!ext) return el("p", { class: "problem" }, "The image has no loaded segment.");
    span = span || ext.span;
    const left = 10;
    const inner = WIDTH - 20;
    const x = (a) => left + ((a - ext.base) / span) * inner;
    const loads = view.segments.filter((s) => s.type === "PT_LOAD");
    const regions = regionsOf(view);
    const parts = [];
    parts.push(svg("text", { x: left, y: 14, class: "small" }, "program headers: PT_LOAD, whole 4 KiB pages as mapped"));
    for (const s of loads) {
      const a = Math.floor(s.start / PAGE) * PAGE;
      const b = Math.ceil(s.end / PAGE) * PAGE;
      const w = Math.max(1.5, x(b) - x(a));
      parts.push(
        svg(
          "g",
          { class: "segment", "data-perm": s.perm },
          svg("rect", { x: x(a), y: 20, width: w, height: 26, class: "load " + permClass(s.perm) }, tip(`PT_LOAD ${s.index} ${s.perm} ${hex(a)}-${hex(b)}: ${s.sections.join(" ")}`)),
          w > 30 ? svg("text", { x: x(a) + 4, y: 37 }, fit(s.perm + " " + s.sections.join(" "), w)) : null
        )
      );
    }
    parts.push(svg("text", { x: left, y: 64, class: "small" }, view.seal ? `seal regions (the Unikernel note, version ${view.seal.version}): exact bytes` : "loaded sections (no seal note)"));
    regions.forEach((r, i) => {
      const w = Math.max(1.5, x(r.end) - x(r.start));
      parts.push(
        svg("rect", { x: x(r.start), y: 70, width: w, height: 30, class: "scale " + permClass(r.perm), "data-kind": r.kind, "data-bytes": r.end - r.start, "data-index": i }, tip(`${r.kind} ${r.perm} [${r.start_hex}, ${r.end_hex}) ${bytes(r.end - r.start)}`))
      );
    });
    // The axis ends where this image ends (a diff draws two images to the larger one's scale).
    parts.push(svg("line", { x1: left, y1: 106, x2: x(ext.base + ext.span), y2: 106, class: "lead" }));
    parts.push(svg("text", { x: left, y: 120, class: "small" }, hex(ext.base)));
    parts.push(svg("text", { x: x(ext.base + ext.span), y: 120, class: "small", "text-anchor": "end" }, hex(ext.base + ext.span)));
    const scale = span === ext.span ? "the full width" : `the full width is ${bytes(span)}`;
    parts.push(svg("text", { x: left + inner, y: 14, class: "small", "text-anchor": "end" }, `${bytes(ext.span)} from the first page to the last; ${scale}`));
    const n = Math.max(1, regions.length);
    const slot = inner / n;
    const card = Math.min(180, slot - 8);
    regions.forEach((r, i) => {
      const kx = left + slot * i + (slot - card) / 2;
      const mid = x(r.start) + Math.max(0.75, (x(r.end) - x(r.start)) / 2);
      parts.push(
        svg(
          "g",
          { class: "region", "data-kind": r.kind, "data-perm": r.perm },
          svg("path", { d: `M${mid},100 L${mid},128 L${kx + card / 2},140 L${kx + card / 2},146`, class: "lead" }),
          svg("rect", { x: kx, y: 146, width: card, height: 64, rx: 3, class: "card" }),
          svg("rect", { x: kx, y: 146, width: 6, height: 64, class: permClass(r.perm) }),
          svg("text", { x: kx + 12, y: 162, class: "head kind" }, fit(r.kind, card - 12)),
          svg("text", { x: kx + 12, y: 176, class: "perm" }, r.perm),
          svg("text", { x: kx + 12, y: 190, class: "size" }, bytes(r.end - r.start)),
          svg("text", { x: kx + 12, y: 204, class: "small" }, fit(`${r.start_hex}-${r.end_hex}`, card - 12))
        )
      );
    });
    return svg("svg", { viewBox: `0 0 ${WIDTH} 220`, width: WIDTH, height: 220, class: "layout", role: "img" }, parts);
  }

  function layoutSection(view) {
    const regions = regionsOf(view);
    return [
      el("h2", {}, "Memory layout, to scale"),
      el("p", { class: "note" }, "Each box is as wide as its bytes. The seal is the permission map inside the image: the boot code maps each region with exactly these permissions."),
      view.seal && view.seal.problem ? el("p", { class: "problem" }, "The seal note does not decode: " + view.seal.problem) : null,
      legend(),
      drawLayout(view),
      el("h3", {}, view.seal ? "Seal regions" : "Loaded segments"),
      table(
        [{ title: "region" }, { title: "perm" }, { title: "start", mono: true }, { title: "end", mono: true }, { title: "bytes", num: true }],
        regions.map((r) => ({ attrs: { class: "seal-row" }, cells: [r.kind, r.perm, r.start_hex, r.end_hex, fmt(r.end - r.start)] }))
      ),
      el("h3", {}, "Program headers"),
      table(
        [{ title: "#", num: true }, { title: "type" }, { title: "perm" }, { title: "address", mono: true }, { title: "file", num: true }, { title: "memory", num: true }, { title: "sections" }],
        view.segments.map((s) => ({ cells: [s.index, s.type, s.perm, s.start_hex, fmt(s.file_size), fmt(s.memory_size), s.sections.join(" ")] }))
      ),
    ];
  }

  // ---- the treemap of kept bytes ----

  const METRICS = {
    kept: { title: "all kept bytes", groups: ["text", "rodata", "data", "bss"] },
    file: { title: "bytes in the file (text, rodata, data)", groups: ["text", "rodata", "data"] },
    text: { title: "code (text)", groups: ["text"] },
  };

  function componentValue(c, metric) {
    if (metric === "kept") return c.kept.total;
    return METRICS[metric].groups.reduce((sum, g) => sum + c.kept[g], 0);
  }

  function tiles(c, metric) {
    const groups = METRICS[metric].groups;
    const items = c.items.filter((i) => groups.includes(i.group)).map((i) => ({ value: i.size, item: i }));
    const listed = items.reduce((sum, i) => sum + i.value, 0);
    const rest = componentValue(c, metric) - listed;
    if (rest > 0) items.push({ value: rest, item: { name: "(not itemised)", section: "", file: "", group: "", size: rest } });
    return items;
  }

  function worst(row, sum, side) {
    let max = 0;
    let min = Infinity;
    for (const r of row) {
      max = Math.max(max, r.area);
      min = Math.min(min, r.area);
    }
    const s2 = sum * sum;
    const w2 = side * side;
    return Math.max((w2 * max) / s2, s2 / (w2 * min));
  }

  // Squarified treemap (Bruls, Huizing, van Wijk): rows along the short side, kept while the worst aspect ratio improves.
  function squarify(items, x, y, w, h) {
    const out = [];
    const total = items.reduce((sum, i) => sum + i.value, 0);
    if (total <= 0 || w <= 0 || h <= 0) return out;
    const scale = (w * h) / total;
    let rest = items.filter((i) => i.value > 0).map((i) => ({ of: i, area: i.value * scale }));
    while (rest.length) {
      const side = Math.min(w, h);
      const row = [rest[0]];
      let sum = rest[0].area;
      let i = 1;
      while (i < rest.length && worst(row, sum, side) >= worst(row.concat([rest[i]]), sum + rest[i].area, side)) {
        row.push(rest[i]);
        sum += rest[i].area;
        i++;
      }
      const thick = sum / side;
      let offset = 0;
      for (const r of row) {
        const len = r.area / thick;
        if (w >= h) out.push({ of: r.of, x: x, y: y + offset, w: thick, h: len });
        else out.push({ of: r.of, x: x + offset, y: y, w: len, h: thick });
        offset += len;
      }
      if (w >= h) {
        x += thick;
        w -= thick;
      } else {
        y += thick;
        h -= thick;
      }
      rest = rest.slice(i);
    }
    return out;
  }

  function byValue(a, b) {
    return b.value - a.value || (a.label < b.label ? -1 : a.label > b.label ? 1 : 0);
  }

  function drawTreemap(view, metric, focus, onFocus) {
    const height = 520;
    const components = view.components
      .map((c, index) => ({ c: c, index: index, label: c.label, value: componentValue(c, metric) }))
      .filter((x) => x.value > 0 && (focus === null || x.label === focus))
      .sort(byValue);
    const parts = [];
    for (const box of squarify(components, 0, 0, WIDTH, height)) {
      const c = box.of.c;
      const hue = (box.of.index * 47) % 360;
      const head = box.h >= 20 && box.w >= 40 ? 16 : 0;
      const group = svg("g", { class: "component", "data-label": c.label, "data-bytes": box.of.value });
      const inner = tiles(c, metric).sort((a, b) => b.value - a.value || (a.item.name < b.item.name ? -1 : a.item.name > b.item.name ? 1 : 0));
      squarify(inner, box.x + 1, box.y + head + 1, box.w - 2, box.h - head - 2).forEach((t, i) => {
        const item = t.of.item;
        const light = 52 + ((i * 7) % 28);
        const where = item.section ? ` (${item.section}, ${item.file}, ${item.group})` : "";
        group.appendChild(
          svg(
            "g",
            { class: "tile-group" },
            svg("rect", { x: t.x, y: t.y, width: Math.max(0, t.w), height: Math.max(0, t.h), class: "tile", fill: `hsl(${hue}, 55%, ${light}%)` }, tip(`${item.name}: ${bytes(t.of.value)}${where} in ${c.label}`)),
            t.w >= 48 && t.h >= 14 ? svg("text", { x: t.x + 3, y: t.y + 12, class: "tile-name" }, fit(item.name, t.w)) : null
          )
        );
      });
      group.appendChild(svg("rect", { x: box.x, y: box.y, width: box.w, height: box.h, class: "component-frame" }, tip(`${c.label}: ${bytes(box.of.value)}`)));
      if (head) {
        group.appendChild(svg("rect", { x: box.x, y: box.y, width: box.w, height: head, class: "component-head" }));
        group.appendChild(svg("text", { x: box.x + 4, y: box.y + 12, class: "on-dark component-name" }, fit(`${c.label} ${bytes(box.of.value)}`, box.w)));
      }
      group.addEventListener("click", () => onFocus(focus === null ? c.label : null));
      parts.push(group);
    }
    if (!parts.length) return el("p", { class: "note" }, "No kept bytes of this kind (or no manifest).");
    return svg("svg", { viewBox: `0 0 ${WIDTH} ${height}`, width: WIDTH, height: height, class: "treemap", role: "img" }, parts);
  }

  function treemapSection(view) {
    const section = el("section", { id: "treemap" });
    let metric = "kept";
    let focus = null;
    const total = (m) => view.components.reduce((sum, c) => sum + componentValue(c, m), 0);
    function draw() {
      section.textContent = "";
      const buttons = Object.entries(METRICS).map(([key, m]) => {
        const b = el("button", { type: "button", class: key === metric ? "on" : "", "data-metric": key }, m.title);
        b.addEventListener("click", () => {
          metric = key;
          draw();
        });
        return b;
      });
      if (focus !== null) {
        const back = el("button", { type: "button", "data-metric": "all" }, "all components");
        back.addEventListener("click", () => {
          focus = null;
          draw();
        });
        buttons.push(back);
      }
      const sum = total(metric);
      add(section, [
        el("h2", {}, "Kept bytes by component and function"),
        el("p", { class: "note" }, `A treemap of ${METRICS[metric].title}: ${bytes(sum)}. Each framed block is a component (a Bazel label), each tile inside it a kept function or data object; its area is its size. Click a component to see it alone; hover for names and sizes.`),
        el("div", { class: "controls" }, buttons),
        drawTreemap(view, metric, focus, (label) => {
          focus = label;
          draw();
        }),
        table(
          [{ title: "component" }, { title: METRICS[metric].title, num: true }, { title: "share", num: true }, { title: "text", num: true }, { title: "rodata", num: true }, { title: "data", num: true }, { title: "bss", num: true }],
          view.components.map((c) => ({
            attrs: { class: "component-row", "data-label": c.label },
            cells: [c.label, fmt(componentValue(c, metric)), sum ? ((100 * componentValue(c, metric)) / sum).toFixed(1) + "%" : "", fmt(c.kept.text), fmt(c.kept.rodata), fmt(c.kept.data), fmt(c.kept.bss)],
          })),
          { class: "components" }
        ),
      ]);
    }
    draw();
    return section;
  }

  // ---- what specialisation removed ----

  function removedSection(view) {
    const removed = view.components.filter((c) => c.in.total || c.removed.total || c.removed_functions.length);
    const functions = [];
    const objects = [];
    for (const c of view.components) {
      for (const f of c.removed_functions) functions.push({ attrs: { class: "removed-function" }, cells: [c.label, f.name, f.file, fmt(f.size)] });
      for (const d of c.removed_data) objects.push({ attrs: { class: "removed-data" }, cells: [c.label, d.name, d.file, d.group, fmt(d.size)] });
    }
    const total = view.components.reduce((sum, c) => sum + c.removed.total, 0);
    return [
      el("h2", {}, "Removed by specialisation"),
      el("p", { class: "note" }, `Mark-live keeps what the entry points reach; the rest of the linked objects is left out of the image: ${bytes(total)} in all.` + (view.gc.sections !== undefined ? ` ${fmt(view.gc.removed)} of ${fmt(view.gc.sections)} input sections removed.` : "")),
      removed.length
        ? table(
            [{ title: "component" }, { title: "in the link", num: true }, { title: "kept", num: true }, { title: "removed", num: true }, { title: "removed text", num: true }, { title: "removed rodata", num: true }, { title: "removed data+bss", num: true }, { title: "functions removed", num: true }],
            removed.map((c) => ({
              attrs: { class: "removed-row", "data-label": c.label },
              cells: [c.label, fmt(c.in.total), fmt(c.kept.total), fmt(c.removed.total), fmt(c.removed.text), fmt(c.removed.rodata), fmt(c.removed.data + c.removed.bss), fmt(c.removed_functions.length)],
            })),
            { class: "removed" }
          )
        : el("p", { class: "note" }, "The manifest has no per-component accounting."),
      el("h3", {}, `Removed functions (${functions.length})`),
      functions.length
        ? table([{ title: "component" }, { title: "function", mono: true }, { title: "file" }, { title: "bytes", num: true }], functions, { class: "removed-functions" })
        : el("p", { class: "note" }, "None: every function linked is used."),
      objects.length ? el("h3", {}, `Removed data (${objects.length})`) : null,
      objects.length ? table([{ title: "component" }, { title: "section", mono: true }, { title: "file" }, { title: "group" }, { title: "bytes", num: true }], objects, { class: "removed-data" }) : null,
    ];
  }

  // ---- the entropy figures ----

  function drawWindow(layout, view) {
    const ext = extent(view);
    if (layout.window_start === null || layout.window_end === null || layout.base === null || !ext || layout.window_end <= layout.window_start) return null;
    const lo = layout.window_start;
    const span = layout.window_end - lo;
    const left = 10;
    const inner = WIDTH - 20;
    const x = (a) => left + (Math.min(Math.max(a, lo), layout.window_end) - lo) / span * inner;
    const bound = layout.size_bound;
    const parts = [
      svg("rect", { x: x(lo), y: 24, width: inner, height: 30, class: "window" }, tip(`load window [${hex(lo)}, ${hex(layout.window_end)})`)),
      bound ? svg("rect", { x: x(lo), y: 24, width: Math.max(1.5, x(lo + bound) - x(lo)), height: 30, class: "plain" }, tip(`where the image lies with seed none: [${hex(lo)}, ${hex(lo + bound)})`)) : null,
      layout.bases > 1 ? svg("rect", { x: x(lo + bound), y: 28, width: Math.max(1.5, x(layout.window_end - bound) - x(lo + bound)), height: 22, class: "bound" }, tip(`${fmt(layout.bases)} possible bases`)) : null,
      svg("rect", { x: x(ext.base), y: 20, width: Math.max(2, x(ext.base + ext.span) - x(ext.base)), height: 38, class: "scale perm-other", "data-kind": "image" }, tip(`this image: [${hex(ext.base)}, ${hex(ext.base + ext.span)})`)),
      svg("text", { x: left, y: 14, class: "small" }, `load window ${hex(lo)}-${hex(layout.window_end)}, to scale; light blue: the ${fmt(layout.bases)} page-aligned bases the seed chose from; dark: this image at ${hex(ext.base)}`),
      svg("text", { x: left, y: 72, class: "small" }, hex(lo)),
      svg("text", { x: left + inner, y: 72, class: "small", "text-anchor": "end" }, hex(layout.window_end)),
    ];
    return svg("svg", { viewBox: `0 0 ${WIDTH} 80`, width: WIDTH, height: 80, class: "window", role: "img" }, parts);
  }

  function entropySection(view) {
    const layout = view.layout;
    if (!layout) return [el("h2", {}, "Entropy (ASLR)"), el("p", { class: "note" }, "The manifest records no layout randomisation.")];
    return [
      el("h2", {}, "Entropy (ASLR)"),
      el("p", { class: "secrecy" }, layout.secrecy),
      facts([
        ["seed", layout.seed],
        ["seed kind", layout.seed_kind],
        ["base", layout.base === null ? "" : hex(layout.base)],
        ["bases", fmt(layout.bases)],
        ["shuffled functions", fmt(layout.shuffled_functions)],
        ["padding max", bytes(layout.padding_max)],
        ["size bound", bytes(layout.size_bound)],
      ]),
      layout.randomised ? drawWindow(layout, view) : null,
      el("h3", {}, "Bits of uncertainty for someone who knows the inputs but not the seed"),
      table(
        [{ title: "figure" }, { title: "bits", num: true }],
        layout.entropy.map((e) => ({ attrs: { class: "entropy-row", "data-name": e.name }, cells: [e.name.replace(/_/g, " "), e.bits.toFixed(2)] })),
        { class: "entropy" }
      ),
      layout.method.length ? el("details", {}, el("summary", {}, "How each figure is computed"), el("dl", { class: "facts" }, layout.method.map((m) => [el("dt", {}, m.name), el("dd", {}, m.text)]))) : null,
      view.boot.length ? el("h3", {}, "Randomised at boot") : null,
      view.boot.length
        ? table(
            [{ title: "what" }, { title: "randomised" }, { title: "bits" }, { title: "terms" }],
            view.boot.map((b) => ({ cells: [b.name, b.randomised === null ? "" : b.randomised ? "yes" : "no", b.bits, b.terms] })),
            { class: "boot" }
          )
        : null,
    ];
  }

  function overview(view) {
    return facts([
      ["sha256", view.sha256],
      ["bytes", fmt(view.bytes)],
      ["build-id", view.build_id || "none"],
      ["entry", view.entry + (view.entry_symbol ? ` (${view.entry_symbol})` : "")],
      ["guest", view.guest || "none"],
      ["manifest", view.has_manifest ? "yes" : "none found: only the ELF file is drawn"],
    ]);
  }

  function imagePage(view) {
    add(root, [
      el("h1", {}, view.file),
      el("p", { class: "note" }, "A picture of a rules_unikernel image: what is loaded and with which permissions (from the ELF file), where its bytes come from and what specialisation removed (from the link manifest)."),
      overview(view),
      layoutSection(view),
      treemapSection(view),
      removedSection(view),
      entropySection(view),
    ]);
  }

  // ---- two images ----

  function deltaRow(label, a, b) {
    const get = (c, f) => (c ? f(c) : null);
    const cells = [label];
    const classes = [""];
    for (const f of [(c) => c.kept.total, (c) => c.kept.text, (c) => c.removed.total]) {
      const x = get(a, f);
      const y = get(b, f);
      const d = (y || 0) - (x || 0);
      cells.push(x === null ? "\u2014" : fmt(x), y === null ? "\u2014" : fmt(y), signed(d));
      classes.push("", "", d > 0 ? "plus" : d < 0 ? "minus" : "");
    }
    const only = !a ? "only in B" : !b ? "only in A" : "";
    cells.push(only);
    return { attrs: { class: "delta-row", "data-label": label }, cells: cells, classes: classes };
  }

  function diffPage(d) {
    const a = d.a;
    const b = d.b;
    const ea = extent(a);
    const eb = extent(b);
    const span = Math.max(ea ? ea.span : 1, eb ? eb.span : 1);
    const labels = [...new Set(a.components.map((c) => c.label).concat(b.components.map((c) => c.label)))];
    const find = (v, label) => v.components.find((c) => c.label === label) || null;
    const total = (v) => v.components.reduce((s, c) => s + c.kept.total, 0);
    add(root, [
      el("h1", {}, `${a.file} (A) and ${b.file} (B)`),
      el("p", { class: d.identical ? "verdict note" : "verdict problem" }, d.identical ? "The images and their manifests are identical." : "The images differ in: " + d.differences.map((x) => x.area).join(", ") + "."),
      table(
        [{ title: "" }, { title: "A", mono: true }, { title: "B", mono: true }],
        [
          ["file", a.file, b.file],
          ["sha256", a.sha256, b.sha256],
          ["bytes", fmt(a.bytes), fmt(b.bytes)],
          ["entry", a.entry, b.entry],
          ["build-id", a.build_id || "none", b.build_id || "none"],
          ["layout seed", a.layout ? a.layout.seed : "", b.layout ? b.layout.seed : ""],
        ].map((cells) => ({ cells: cells }))
      ),
      el("h2", {}, "Memory layouts, A above B, to the same scale"),
      el("p", { class: "note" }, `The full width is ${bytes(span)}, the larger of the two images' spans, so equal widths are equal sizes.`),
      legend(),
      el("div", { class: "side-a" }, el("h3", {}, "A: " + a.file), drawLayout(a, span)),
      el("div", { class: "side-b" }, el("h3", {}, "B: " + b.file), drawLayout(b, span)),
      el("h2", {}, "Size per component"),
      el("p", { class: "note" }, `Kept bytes: ${bytes(total(a))} in A, ${bytes(total(b))} in B (${signed(total(b) - total(a))}).`),
      table(
        [
          { title: "component" },
          { title: "kept A", num: true },
          { title: "kept B", num: true },
          { title: "\u0394 kept", num: true },
          { title: "text A", num: true },
          { title: "text B", num: true },
          { title: "\u0394 text", num: true },
          { title: "removed A", num: true },
          { title: "removed B", num: true },
          { title: "\u0394 removed", num: true },
          { title: "" },
        ],
        labels.map((label) => deltaRow(label, find(a, label), find(b, label))),
        { class: "deltas" }
      ),
      d.differences.length ? el("h2", {}, "What differs") : null,
      d.differences.map((x) => [
        el("h3", {}, `${x.area} (${fmt(x.count)})`),
        el("pre", { class: "lines" }, x.lines.join("\n") + (x.count > x.lines.length ? `\n\u2026 and ${fmt(x.count - x.lines.length)} more (unikernel diff prints them all)` : "")),
      ]),
    ]);
  }

  if (data.kind === "diff") diffPage(data);
  else imagePage(data.image);
  document.documentElement.setAttribute("data-rendered", data.kind);
})();
