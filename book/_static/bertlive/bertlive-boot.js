/* The live book: start the explorers of a lesson page, or say why they cannot start.
 *
 * scripts/bertbook_sphinx.py puts this classic script, `async`, at the top of <head> on every
 * page with a cell tagged `live-*`, naming the page's explorers in `data-explorers`, next to
 * preload links for what they need. It starts at once, while the page is still being parsed:
 * it loads bertlive.css and the explorers (bertlive.mjs, an ES module that runs the book's
 * models with onnxruntime-web) and lets them fetch the model, the runtime and the tokenizer
 * and start the WebAssembly (warm). It draws each explorer in its cell (start) as soon as the
 * parser has finished that cell (the parser has moved on to the element after it), and the
 * rest once the page is parsed (readyState "interactive", before the deferred scripts such as
 * the 3.6 MB widget manager run): an explorer halfway down a long page answers before the
 * page's end has been read. Until they are drawn, and whenever they cannot be (a page opened
 * from disk, no WebAssembly, a model that fails to load), the output saved at build time stays
 * in place with a message saying why.
 */
(function () {
  "use strict";
  // Performance marks (bertlive:*) time the start-up; benchmarks/live.py reads them.
  var mark = function (name) {
    if (self.performance && performance.mark) performance.mark("bertlive:" + name);
  };
  mark("boot");
  var script = document.currentScript;
  var base = script.src.replace(/[^/]*$/, "");
  var explorers = (script.getAttribute("data-explorers") || "").split(/\s+/).filter(Boolean);

  var css = document.createElement("link");
  css.rel = "stylesheet";
  css.href = base + "bertlive.css";
  document.head.appendChild(css);

  var live = null;
  if (location.protocol !== "file:" && typeof WebAssembly === "object") {
    live = import(base + "bertlive.mjs");
    live
      .then(function (m) {
        m.warm(explorers);
      })
      .catch(function () {}); // start() below reports the failure in each cell
  }

  function note(cell, html) {
    var box = document.createElement("p");
    box.className = "bertlive-note bertlive-fallback";
    box.setAttribute("role", "status");
    box.innerHTML = html;
    var output = cell.querySelector(".cell_output");
    cell.insertBefore(box, output || null);
  }

  var saved = " The output below was saved when the book was built; changing it needs a kernel (Jupyter or Colab).";

  // Draw the given explorer cells (each once), or say in each why it cannot be live.
  function draw(cells) {
    if (!cells.length) return;
    var fallback = function (html) {
      for (var i = 0; i < cells.length; i++) note(cells[i], html);
    };
    if (location.protocol === "file:") {
      fallback(
        "<strong>Live explorer off:</strong> this page was opened from disk, where the browser " +
          "may not load the book's models. Run <code>make serve</code> in the repository and open " +
          '<a href="http://127.0.0.1:8000/">http://127.0.0.1:8000/</a>.' +
          saved
      );
      return;
    }
    if (!live) {
      fallback("<strong>Live explorer off:</strong> this browser has no WebAssembly." + saved);
      return;
    }
    live
      .then(function (m) {
        return m.start(cells);
      })
      .catch(function (err) {
        fallback(
          "<strong>Live explorer off:</strong> it could not start (" +
            String((err && err.message) || err).replace(/[<&]/g, "") +
            ")." +
            saved
        );
      });
  }

  // The explorer cells not drawn yet that the parser has finished (all of them once the page is
  // parsed: the last element of a section has no next sibling until then).
  function drawParsed(all) {
    var cells = document.querySelectorAll('.cell[class*="tag_live-"]');
    var ready = [];
    for (var i = 0; i < cells.length; i++) {
      if (cells[i].hasAttribute("data-bertlive-drawn") || !(all || cells[i].nextElementSibling)) continue;
      cells[i].setAttribute("data-bertlive-drawn", "");
      ready.push(cells[i]);
    }
    draw(ready);
  }

  if (document.readyState !== "loading") drawParsed(true);
  else {
    // While the page is parsed, look for finished explorer cells after each batch of new nodes.
    var watcher = typeof MutationObserver === "function" ? new MutationObserver(function () {
      drawParsed(false);
    }) : null;
    if (watcher) watcher.observe(document.documentElement, { childList: true, subtree: true });
    var once = function () {
      document.removeEventListener("readystatechange", once);
      if (watcher) watcher.disconnect();
      drawParsed(true);
    };
    document.addEventListener("readystatechange", once);
  }
})();
