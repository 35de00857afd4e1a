// The live book: the book's models in the reader's browser, and the explorers that use them.
//
// Models: _static/live/ (written at build time by scripts/export_live.py: one ONNX file per
// model, its tokenizer.json and config.json, and manifest.json). Runtime: onnxruntime-web's
// WebAssembly build and @huggingface/tokenizers, both from _static/vendor/ (fetched from npm
// with pinned integrity by scripts/fetch_vendor.py), so nothing is fetched from elsewhere.
//
// window.bertLive, for the tests and for curious readers (in the browser's console):
//   bertLive.models                         the model names (the small BERT's contains "small")
//   bertLive.tokenizers                     the models' names, then tokenizers without a model
//                                           (chapter 2's own WordPiece): tokenize() takes either
//   await bertLive.tokenize(model, text, textPair?)  {tokens, input_ids, token_type_ids, attention_mask}
//   await bertLive.fillMask(model, text, k)           [{token, score}] for the first [MASK]
//   await bertLive.attentions(model, text)            {tokens, attentions}: layers x heads x T x T
//   bertLive.maskTokens(ids, {p, seed, ...})          BERT's masking (bertlib.mask_tokens' rule)

// Start-up is timed with performance marks named bertlive:<step> (benchmarks/live.py reads them):
// boot, module, manifest, runtime, model:<name>, session:<name>, tokenizer:<name>, ready:<explorer>.
const mark = (name) => performance.mark(`bertlive:${name}`);
mark("module");

const HERE = new URL(".", import.meta.url);
const LIVE = new URL("../live/", HERE);
const ORT = new URL("../vendor/onnxruntime-web/", HERE);
const TOKENIZERS = new URL("../vendor/tokenizers/tokenizers.min.mjs", HERE);

// ---------------------------------------------------------------- loading

let manifestPromise = null;
function manifest() {
  if (!manifestPromise) {
    manifestPromise = fetch(new URL("manifest.json", LIVE)).then((r) => {
      if (!r.ok) throw new Error(`the models' manifest is missing (HTTP ${r.status})`);
      return r.json().then((m) => (mark("manifest"), m));
    });
  }
  return manifestPromise;
}

async function modelInfo(name) {
  const m = (await manifest()).models.find((x) => x.name === name);
  if (!m) throw new Error(`no model named ${JSON.stringify(name)}; bertLive.models lists them`);
  return m;
}

// A model's tokenizer, or a tokenizer that has no model (chapter 2's own WordPiece).
async function tokenizerInfo(name) {
  const m = await manifest();
  const t = [...m.models, ...(m.tokenizers || [])].find((x) => x.name === name);
  if (!t) throw new Error(`no tokenizer named ${JSON.stringify(name)}; bertLive.tokenizers lists them`);
  return t;
}

let ortPromise = null;
function runtime() {
  if (!ortPromise) {
    ortPromise = import(new URL("ort.wasm.min.mjs", ORT).href).then((ort) => {
      ort.env.wasm.wasmPaths = ORT.href; // our copies, never the CDN
      // Threads need SharedArrayBuffer, which only a cross-origin isolated page has.
      ort.env.wasm.numThreads = self.crossOriginIsolated ? Math.min(4, navigator.hardwareConcurrency || 1) : 1;
      ort.env.wasm.proxy = false;
      mark("runtime");
      return ort;
    });
  }
  return ortPromise;
}

const tokenizers = new Map();
function tokenizer(name) {
  if (!tokenizers.has(name)) {
    tokenizers.set(
      name,
      (async () => {
        const info = await tokenizerInfo(name);
        const [{ Tokenizer }, json] = await Promise.all([
          import(TOKENIZERS.href),
          fetch(new URL(info.tokenizer, LIVE)).then((r) => {
            if (!r.ok) throw new Error(`${info.tokenizer} is missing (HTTP ${r.status})`);
            return r.json();
          }),
        ]);
        const vocab = json.model.vocab;
        const special = new Set(json.added_tokens.filter((t) => t.special).map((t) => t.id));
        const ids = (t) => {
          if (!(t in vocab)) throw new Error(`${name}'s tokenizer has no ${t}`);
          return vocab[t];
        };
        const ready = {
          tok: new Tokenizer(json, {}),
          vocab,
          byId: Object.fromEntries(Object.entries(vocab).map(([t, i]) => [i, t])),
          special,
          cls: ids("[CLS]"),
          sep: ids("[SEP]"),
          mask: ids("[MASK]"),
          maxLength: info.max_length,
        };
        mark(`tokenizer:${name}`);
        return ready;
      })().catch((err) => {
        tokenizers.delete(name);
        throw err;
      })
    );
  }
  return tokenizers.get(name);
}

const sessions = new Map();
// Download a model with progress (onProgress(bytesSoFar, total)), then start its session.
function session(name, onProgress) {
  if (!sessions.has(name)) {
    sessions.set(
      name,
      (async () => {
        const info = await modelInfo(name);
        const ortReady = runtime(); // the runtime's module loads while the model downloads
        const response = await fetch(new URL(info.file, LIVE));
        if (!response.ok) throw new Error(`${info.file} did not load (HTTP ${response.status})`);
        const total = info.bytes;
        const bytes = new Uint8Array(total);
        const reader = response.body.getReader();
        let got = 0;
        for (;;) {
          const { done, value } = await reader.read();
          if (done) break;
          if (got + value.length > total) throw new Error(`${info.file} is larger than the manifest says`);
          bytes.set(value, got);
          got += value.length;
          if (onProgress) onProgress(got, total);
        }
        if (got !== total) throw new Error(`${info.file} is ${got} bytes, the manifest says ${total}`);
        mark(`model:${name}`);
        const ort = await ortReady;
        // No graph optimisation in the page: on two cores it delayed the first answer by about
        // half a second (measured with benchmarks/live.py's timeline, with and without it), and a
        // model this small answers a keystroke in milliseconds without it.
        const s = await ort.InferenceSession.create(bytes, {
          executionProviders: ["wasm"],
          graphOptimizationLevel: "disabled",
        });
        mark(`session:${name}`);
        return { s, info, ort };
      })().catch((err) => {
        sessions.delete(name);
        throw err;
      })
    );
  }
  return sessions.get(name);
}

// ---------------------------------------------------------------- the API

// Python's `tokenizers` with truncation "longest_first": the longer sentence loses tokens
// from its end until [CLS] A [SEP] (B [SEP]) fits in maxLength.
async function encode(name, text, textPair = null, maxLength = null) {
  const t = await tokenizer(name);
  const limit = maxLength || t.maxLength;
  const a = t.tok.encode(text ?? "", { add_special_tokens: false });
  const b = textPair == null ? null : t.tok.encode(textPair, { add_special_tokens: false });
  let n1 = a.ids.length;
  let n2 = b ? b.ids.length : 0;
  const room = limit - (b ? 3 : 2);
  if (room < 1) throw new Error(`max_length ${limit} leaves no room for words next to [CLS]/[SEP]`);
  const truncated = n1 + n2 > room;
  if (!b) n1 = Math.min(n1, room);
  else if (truncated) {
    // the Rust crate's rule: the shorter keeps what it can of half the room, the longer the rest
    const swap = n1 > n2;
    let [short, long] = swap ? [n2, n1] : [n1, n2];
    long = short > room ? short : Math.max(short, room - short);
    if (short + long > room) {
      short = Math.floor(room / 2);
      long = short + (room % 2);
    }
    [n1, n2] = swap ? [long, short] : [short, long];
  }
  const ids = [t.cls, ...a.ids.slice(0, n1), t.sep];
  const types = new Array(ids.length).fill(0);
  if (b) {
    const more = [...b.ids.slice(0, n2), t.sep];
    ids.push(...more);
    types.push(...new Array(more.length).fill(1));
  }
  return {
    tokens: ids.map((i) => t.byId[i]),
    input_ids: ids,
    token_type_ids: types,
    attention_mask: new Array(ids.length).fill(1),
    truncated,
    words: n1 + n2,
    wordsBefore: a.ids.length + (b ? b.ids.length : 0),
  };
}

async function run(name, enc, onProgress) {
  const { s, ort } = await session(name, onProgress);
  const T = enc.input_ids.length;
  const tensor = (xs) => new ort.Tensor("int64", BigInt64Array.from(xs, (x) => BigInt(x)), [1, T]);
  return s.run({
    input_ids: tensor(enc.input_ids),
    token_type_ids: tensor(enc.token_type_ids),
    attention_mask: tensor(enc.attention_mask),
  });
}

function splitAttentions(out) {
  const [, L, H, T] = out.dims;
  const data = out.data;
  const layers = [];
  for (let l = 0; l < L; l++) {
    const heads = [];
    for (let h = 0; h < H; h++) {
      const rows = [];
      for (let i = 0; i < T; i++) {
        const start = ((l * H + h) * T + i) * T;
        rows.push(Array.from(data.subarray(start, start + T)));
      }
      heads.push(rows);
    }
    layers.push(heads);
  }
  return layers;
}

async function tokenize(model, text, textPair) {
  const e = await encode(model, text, textPair ?? null);
  return {
    tokens: e.tokens,
    input_ids: e.input_ids,
    token_type_ids: e.token_type_ids,
    attention_mask: e.attention_mask,
  };
}

async function fillMaskDetailed(model, text, k = 5) {
  const t = await tokenizer(model);
  const enc = await encode(model, text);
  const at = enc.input_ids.indexOf(t.mask);
  if (at < 0 && enc.truncated) throw new Error(`the [MASK] is past the first ${enc.input_ids.length} tokens, which is all the model reads: shorten the text`);
  if (at < 0) throw new Error("the text has no [MASK]: write [MASK] where a word should be guessed");
  const out = await run(model, enc);
  if (!out.logits) throw new Error(`${model} has no MLM head; fill-in-the-blank needs the small BERT`);
  const V = out.logits.dims[2];
  const row = out.logits.data.subarray(at * V, (at + 1) * V);
  let max = -Infinity;
  for (const x of row) if (x > max) max = x;
  const p = new Float64Array(V);
  let sum = 0;
  for (let i = 0; i < V; i++) sum += p[i] = Math.exp(row[i] - max);
  const order = Array.from({ length: V }, (_, i) => i)
    .sort((i, j) => p[j] - p[i])
    .slice(0, k);
  return { enc, top: order.map((i) => ({ token: t.byId[i], score: p[i] / sum })) };
}

async function fillMask(model, text, k = 5) {
  return (await fillMaskDetailed(model, text, k)).top;
}

async function attentionsDetailed(model, text, onProgress) {
  const enc = await encode(model, text);
  const out = await run(model, enc, onProgress);
  return { enc, tokens: enc.tokens, attentions: splitAttentions(out.attentions) };
}

async function attentions(model, text) {
  const { tokens, attentions } = await attentionsDetailed(model, text);
  return { tokens, attentions };
}

// A seeded generator (mulberry32): the same seed gives the same masks on every browser.
function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// bertlib.mask_tokens' rule: each non-special token is selected with probability p; a
// selected one becomes [MASK] with probability maskFraction, a random ordinary word with
// probability randomFraction, and stays otherwise. Returns {inputs, selected, kind}, kind
// per position: "" (not selected), "mask", "random" or "kept".
function maskTokens(ids, { p = 0.15, seed = 0, maskFraction = 0.8, randomFraction = 0.1, special, maskId, words }) {
  const draw = rng(seed);
  const rest = 1 - maskFraction;
  const inputs = ids.slice();
  const kind = ids.map(() => "");
  ids.forEach((id, i) => {
    const u = [draw(), draw(), draw(), draw()];
    if (special.has(id) || !(u[0] < p)) return;
    if (u[1] < maskFraction) {
      inputs[i] = maskId;
      kind[i] = "mask";
    } else if (rest > 0 && u[2] < randomFraction / rest) {
      inputs[i] = words[Math.floor(u[3] * words.length)];
      kind[i] = "random";
    } else kind[i] = "kept";
  });
  return { inputs, kind };
}

async function maskWith(model, ids, options) {
  const t = await tokenizer(model);
  const words = Object.values(t.vocab)
    .filter((i) => !t.special.has(i))
    .sort((x, y) => x - y);
  return maskTokens(ids, { ...options, special: t.special, maskId: t.mask, words });
}

// ---------------------------------------------------------------- drawing helpers

const SVG = "http://www.w3.org/2000/svg";
let uid = 0;

function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "text") e.textContent = v;
    else if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, v);
  }
  for (const c of children) if (c != null) e.append(c);
  return e;
}

function svg(tag, attrs = {}) {
  const e = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  return e;
}

function field(label, input) {
  const id = `bertlive-${++uid}`;
  input.id = id;
  return el("div", { class: "bertlive-field" }, el("label", { for: id, text: label }), input);
}

function slider(label, min, max, step, value, format = String) {
  const input = el("input", { type: "range", min, max, step, value });
  const shown = el("output", { text: format(Number(value)) });
  input.addEventListener("input", () => (shown.textContent = format(Number(input.value))));
  const f = field(label, input);
  f.append(shown);
  return { f, input };
}

function textbox(label, value, placeholder = "") {
  const input = el("input", { type: "text", value, placeholder, autocomplete: "off", spellcheck: "false" });
  return { f: field(label, input), input };
}

function select(label, options) {
  const input = el("select");
  for (const [value, text] of options) input.append(el("option", { value, text }));
  return { f: field(label, input), input };
}

// Runs `draw` after each change, dropping the answers of changes that a newer one overtook.
function live(draw, inputs, box, status) {
  let generation = 0;
  const update = async () => {
    const mine = ++generation;
    const started = performance.now();
    try {
      const view = await draw();
      if (mine !== generation) return;
      box.replaceChildren(...[].concat(view));
      box.dataset.answered = String(Number(box.dataset.answered || 0) + 1);
      box.dataset.ms = (performance.now() - started).toFixed(1);
    } catch (err) {
      if (mine !== generation) return;
      box.replaceChildren(el("p", { class: "bertlive-note bertlive-error", role: "alert", text: err.message }));
      box.dataset.answered = String(Number(box.dataset.answered || 0) + 1);
    }
    if (status) status();
  };
  for (const i of inputs) i.addEventListener(i.type === "range" || i.tagName === "SELECT" ? "input" : "input", update);
  return update;
}

function hint(text) {
  return el("p", { class: "bertlive-note bertlive-hint", text });
}

function truncationNote(enc) {
  if (!enc.truncated) return null;
  return el("p", {
    class: "bertlive-note bertlive-truncated",
    role: "status",
    text: `Too long: only the first ${enc.words} of ${enc.wordsBefore} pieces fit in ${enc.input_ids.length} tokens (as in Python, the rest is cut).`,
  });
}

// ---------------------------------------------------------------- the explorers

const SMALL = "small-bert";
const MINILM = "all-MiniLM-L6-v2";

function tokensTable(enc) {
  const table = el("table", { class: "bertlive-tokens" });
  const rows = [
    ["token", enc.tokens],
    ["id", enc.input_ids],
    ["segment", enc.token_type_ids],
    ["mask", enc.attention_mask],
  ];
  for (const [name, values] of rows) {
    const tr = el("tr", {}, el("th", { scope: "row", text: name }));
    values.forEach((v, i) => tr.append(el("td", { class: `bertlive-seg${enc.token_type_ids[i]}`, text: String(v) })));
    table.append(tr);
  }
  return el("div", { class: "bertlive-scroll", tabindex: "0", role: "region", "aria-label": "pieces, ids, segments and attention mask" }, table);
}

async function tokenizerExplorer(root) {
  const m = await manifest();
  const size = (n) => n.toLocaleString("en-US");
  // The lesson's own WordPiece first (its widget calls it "ours"), then the models' vocabularies.
  const options = [
    ...(m.tokenizers || []).map((t) => [t.name, `ours, this chapter's (${size(t.vocab_size)} pieces)`]),
    ...m.models.map((x) => [
      x.name,
      x.name === SMALL ? `small BERT's, ch. 8 (${size(x.vocab_size)} pieces)` : `real BERT's (${size(x.vocab_size)} pieces)`,
    ]),
  ];
  const a = textbox("sentence A", "seoyeon reads books to the children.");
  const b = textbox("sentence B", "the children love her stories.");
  const vocab = select("vocabulary", options);
  const length = slider("max_length", 4, 48, 1, 24);
  const box = el("div", { class: "bertlive-answer", "aria-live": "polite" });
  root.append(el("div", { class: "bertlive-controls" }, a.f, b.f, vocab.f, length.f), box);
  const update = live(
    async () => {
      if (!a.input.value.trim()) return hint("Type a sentence A to see its pieces (sentence B is optional).");
      const enc = await encode(vocab.input.value, a.input.value, b.input.value.trim() ? b.input.value : null, Number(length.input.value));
      return [tokensTable(enc), truncationNote(enc)].filter(Boolean);
    },
    [a.input, b.input, vocab.input, length.input],
    box
  );
  await tokenizer(vocab.input.value);
  await update();
}

async function maskingExplorer(root) {
  const text = textbox("sentence", "every morning oscar walks to the school and in the evening he plays the violin at home .");
  const p = slider("select p", 0.05, 0.9, 0.05, 0.15, (v) => v.toFixed(2));
  const seed = slider("seed", 0, 20, 1, 0);
  const box = el("div", { class: "bertlive-answer", "aria-live": "polite" });
  root.append(el("div", { class: "bertlive-controls" }, text.f, p.f, seed.f), box);
  const t = await tokenizer(SMALL);
  const update = live(
    async () => {
      if (!text.input.value.trim()) return hint("Type a sentence to mask.");
      const enc = await encode(SMALL, text.input.value);
      const m = await maskWith(SMALL, enc.input_ids, { p: Number(p.input.value), seed: Number(seed.input.value) });
      const line = el("p", { class: "bertlive-masked" });
      const counts = { mask: 0, random: 0, kept: 0 };
      m.inputs.forEach((id, i) => {
        const k = m.kind[i];
        if (k) counts[k]++;
        const label = k ? `${t.byId[id]}` : t.byId[id];
        const span = el("span", { class: `bertlive-piece${k ? ` bertlive-${k}` : ""}`, text: label });
        if (k) span.title = `${enc.tokens[i]} → ${k === "mask" ? "[MASK]" : k === "random" ? "a random word" : "kept"}`;
        line.append(span, " ");
      });
      const n = counts.mask + counts.random + counts.kept;
      const words = enc.input_ids.filter((i) => !t.special.has(i)).length;
      const summary = el("p", {
        class: "bertlive-summary",
        text: `${n} of ${words} pieces selected: ${counts.mask} → [MASK], ${counts.random} → a random word, ${counts.kept} kept as they are.`,
      });
      return [line, summary, truncationNote(enc)].filter(Boolean);
    },
    [text.input, p.input, seed.input],
    box
  );
  await update();
}

function bars(top) {
  const list = el("ol", { class: "bertlive-bars" });
  for (const { token, score } of top) {
    const bar = el("span", { class: "bertlive-bar" });
    bar.style.width = `${Math.max(0.5, 100 * score).toFixed(1)}%`;
    list.append(
      el(
        "li",
        {},
        el("span", { class: "bertlive-bar-token", text: token }),
        el("span", { class: "bertlive-bar-track" }, bar),
        el("span", { class: "bertlive-bar-value", text: `${(100 * score).toFixed(1)}%` })
      )
    );
  }
  return list;
}

async function fillMaskExplorer(root) {
  const text = textbox("sentence", "for dinner oscar eats salad and then he goes to bed.", "type a sentence, then click a word");
  const box = el("div", { class: "bertlive-answer", "aria-live": "polite" });
  const words = el("div", { class: "bertlive-words", role: "group", "aria-label": "click a word to hide it" });
  root.append(el("div", { class: "bertlive-controls" }, text.f), words, box);
  const t = await tokenizer(SMALL);
  let hidden = 10; // which piece is hidden when the text has no [MASK] (here: "bed", as in the lesson)
  let update = null;
  const pieces = () => t.tok.encode(text.input.value, { add_special_tokens: false }).tokens;
  const drawWords = (list) => {
    words.replaceChildren(
      ...list.map((w, i) =>
        el("button", {
          type: "button",
          class: `bertlive-word${i === hidden ? " bertlive-hidden" : ""}`,
          "aria-pressed": String(i === hidden),
          text: w,
          onclick: () => {
            hidden = i;
            update();
          },
        })
      )
    );
  };
  update = live(
    async () => {
      const value = text.input.value;
      if (!value.trim()) {
        words.replaceChildren();
        return hint("Type a sentence, then click the word to hide (or write [MASK]).");
      }
      let masked = value;
      const list = pieces();
      if (!value.includes("[MASK]")) {
        if (hidden >= list.length) hidden = list.length - 1;
        drawWords(list);
        masked = list
          .map((w, i) => (i === hidden ? "[MASK]" : w))
          .join(" ")
          .replace(/ ##/g, "");
      } else words.replaceChildren(el("span", { class: "bertlive-note", text: "Your [MASK] is the blank." }));
      const { enc, top } = await fillMaskDetailed(SMALL, masked, 5);
      return [
        el("p", { class: "bertlive-masked", text: masked }),
        bars(top),
        truncationNote(enc),
      ].filter(Boolean);
    },
    [text.input],
    box
  );
  await session(SMALL);
  await update();
}

// Heatmap (rows: queries, columns: keys) and bertviz-style lines for one head.
function attentionView(tokens, matrix) {
  const T = tokens.length;
  const cell = Math.max(6, Math.min(22, Math.floor(300 / T)));
  const pad = 70;
  const size = pad + T * cell;
  const heat = svg("svg", {
    viewBox: `0 0 ${size + 40} ${size}`, // room on the right for the last column's slanted label
    class: "bertlive-heatmap",
    role: "img",
    "aria-label": `attention heatmap over ${T} tokens: row i shows how much token i attends to each token`,
  });
  const fontSize = Math.min(11, cell * 0.9);
  tokens.forEach((tok, i) => {
    const row = svg("text", { x: pad - 3, y: pad + i * cell + cell * 0.75, "text-anchor": "end", "font-size": fontSize });
    row.textContent = tok;
    const col = svg("text", {
      x: 0,
      y: 0,
      transform: `translate(${pad + i * cell + cell * 0.75},${pad - 3}) rotate(-60)`,
      "font-size": fontSize,
    });
    col.textContent = tok;
    heat.append(row, col);
    matrix[i].forEach((w, j) => {
      heat.append(
        svg("rect", {
          x: pad + j * cell,
          y: pad + i * cell,
          width: cell,
          height: cell,
          fill: `rgba(30, 90, 200, ${Math.min(1, w).toFixed(3)})`,
        })
      );
    });
  });
  const lineH = 18;
  const height = T * lineH + 10;
  const lines = svg("svg", {
    viewBox: `0 0 300 ${height}`,
    class: "bertlive-lines",
    role: "img",
    "aria-label": "lines from each token on the left to the tokens it attends to on the right; darker is more attention",
  });
  tokens.forEach((tok, i) => {
    const y = 10 + i * lineH + lineH / 2;
    const l = svg("text", { x: 95, y: y + 4, "text-anchor": "end", "font-size": 12 });
    l.textContent = tok;
    const r = svg("text", { x: 205, y: y + 4, "font-size": 12 });
    r.textContent = tok;
    lines.append(l, r);
    matrix[i].forEach((w, j) => {
      if (w < 0.02) return;
      lines.append(
        svg("line", {
          x1: 100,
          y1: y,
          x2: 200,
          y2: 10 + j * lineH + lineH / 2,
          stroke: "rgb(30, 90, 200)",
          "stroke-opacity": Math.min(1, w).toFixed(3),
          "stroke-width": 2,
        })
      );
    });
  });
  return el("div", { class: "bertlive-attention" }, heat, lines);
}

async function attentionExplorer(root, model, optIn) {
  const info = await modelInfo(model);
  const text = textbox("sentence", "in the evening oscar plays the violin at home .");
  const layer = slider("layer", 0, info.num_layers - 1, 1, info.num_layers - 1);
  const head = slider("head", 0, info.num_heads - 1, 1, 0);
  const box = el("div", { class: "bertlive-answer", "aria-live": "polite" });
  root.append(el("div", { class: "bertlive-controls" }, text.f, layer.f, head.f), box);
  let cached = null; // the last sentence's attentions: moving a slider only redraws
  const update = live(
    async () => {
      if (!text.input.value.trim()) return hint("Type a sentence to see where each token looks.");
      if (!cached || cached.text !== text.input.value) {
        cached = { text: text.input.value, ...(await attentionsDetailed(model, text.input.value)) };
      }
      const l = Number(layer.input.value);
      const h = Number(head.input.value);
      return [
        el("p", { class: "bertlive-summary", text: `layer ${l}, head ${h} of ${model}` }),
        attentionView(cached.tokens, cached.attentions[l][h]),
        truncationNote(cached.enc),
      ].filter(Boolean);
    },
    [text.input, layer.input, head.input],
    box
  );
  if (!optIn) {
    await session(model);
    await update();
    return;
  }
  const mb = (info.bytes / 1e6).toFixed(0);
  const progress = el("progress", { max: info.bytes, value: 0, "aria-label": `download of ${model}` });
  const button = el("button", { type: "button", class: "bertlive-load", text: `Load the real model (${model}, ${mb} MB)` });
  const wait = el("div", { class: "bertlive-optin" }, button, progress);
  box.replaceChildren(wait);
  await new Promise((resolve) => button.addEventListener("click", resolve, { once: true }));
  button.disabled = true;
  button.textContent = `Downloading ${model} (${mb} MB)…`;
  await session(model, (got) => {
    progress.value = got;
    button.textContent = `Downloading ${model}: ${(got / 1e6).toFixed(1)} of ${mb} MB`;
  });
  await update();
}

const EXPLORERS = {
  "live-tokenizer": { title: "tokenizer",
    run: tokenizerExplorer,
    says: "the tokenizers run in your browser with the same tokenizer.json files as Python",
    hides: true,
  },
  "live-masking": { title: "masking", run: maskingExplorer, says: "the masking runs in your browser (plain JavaScript, seeded)", hides: true },
  "live-fillmask": { title: "fill in the blank", run: fillMaskExplorer, says: "the small BERT of chapter 8 runs in your browser", hides: true },
  "live-attention": { title: "attention, small BERT",
    run: (root) => attentionExplorer(root, SMALL, false),
    says: "the small BERT of chapter 8 runs in your browser; type your own sentence",
    hides: false,
  },
  "live-attention-minilm": { title: "attention, all-MiniLM-L6-v2",
    run: (root) => attentionExplorer(root, MINILM, true),
    says: "the real pretrained encoder runs in your browser once you load it",
    hides: false,
  },
};

const KERNEL = "The other cells show what they printed when the book was built; to change them you need a kernel (Jupyter or Colab).";

async function startOne(cell) {
  const tag = tagOf(cell);
  const spec = EXPLORERS[tag];
  if (!spec) return;
  const output = cell.querySelector(".cell_output");
  const root = el("section", { class: "bertlive", "data-explorer": tag, "aria-label": `live explorer: ${spec.title}` });
  const line = el("p", { class: "bertlive-note bertlive-status", role: "status", text: "Live explorer: loading…" });
  root.append(line);
  cell.insertBefore(root, output || null);
  try {
    await spec.run(root);
    line.textContent = `Live: ${spec.says}. ${spec.hides ? "It replaces the saved widget, which needs a kernel. " : ""}${KERNEL}`;
    if (spec.hides && output) output.classList.add("bertlive-replaced");
    mark(`ready:${tag}`);
    root.dataset.readyMs = performance.now().toFixed(1); // since the navigation started
    root.dataset.ready = "true";
  } catch (err) {
    root.dataset.ready = "failed";
    root.replaceChildren(
      el("p", {
        class: "bertlive-note bertlive-error bertlive-fallback",
        role: "alert",
        text: `Live explorer off: ${err.message}. The output below was saved when the book was built; changing it needs a kernel (Jupyter or Colab).`,
      })
    );
    if (output) output.classList.remove("bertlive-replaced");
  }
}

const NEEDS_SMALL = new Set(["live-fillmask", "live-attention"]);
const tagOf = (cell) => [...cell.classList].find((c) => c.startsWith("tag_live-"))?.slice(4);

// Called by bertlive-boot.js as soon as this module is loaded, while the page is still being
// parsed: fetch what the page's explorers need first and start the small BERT's session (the
// WebAssembly compiles off the main thread). Everything is cached, so start() reuses it.
export function warm(explorers) {
  const quiet = (p) => p.catch(() => {}); // a failure is reported by the explorer that needs it
  quiet(manifest());
  if (explorers.some((e) => NEEDS_SMALL.has(e))) quiet(session(SMALL));
  if (explorers.some((e) => e !== "live-tokenizer" && e !== "live-attention-minilm")) quiet(tokenizer(SMALL));
  if (explorers.includes("live-tokenizer"))
    quiet(manifest().then((m) => tokenizer([...(m.tokenizers || []), ...m.models][0].name))); // its first option
}

export async function start(cells) {
  // Start the small BERT's download and the runtime's start-up at once, before drawing anything.
  if ([...cells].some((c) => NEEDS_SMALL.has(tagOf(c)))) session(SMALL).catch(() => {});
  const m = await manifest();
  window.bertLive.models = m.models.map((x) => x.name);
  window.bertLive.tokenizers = [...m.models, ...(m.tokenizers || [])].map((x) => x.name);
  await Promise.all([...cells].map(startOne));
}

window.bertLive = {
  models: [],
  tokenizers: [],
  manifest,
  tokenize,
  fillMask,
  attentions,
  encode,
  maskTokens: (ids, options) => maskWith(SMALL, ids, options),
  ready: manifest().then((m) => m.models.map((x) => x.name)),
};
