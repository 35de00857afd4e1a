/* The live book: start the explorers of a lesson page, or say why they cannot start.
 *
 * scripts/bertbook_sphinx.py adds this classic script, `async` (it need not wait for the
 * page's deferred scripts, such as the 3.6 MB widget manager), at the end of every page
 * with a cell tagged `live-*`. It loads bertlive.css, then the explorers (bertlive.mjs, an ES
 * module that runs the book's models with onnxruntime-web). Until they are drawn, and
 * whenever they cannot be (a page opened from disk, no WebAssembly, a model that fails
 * to load), the output saved at build time stays in place with a message saying why.
 */
(function () {
  "use strict";
  var script = document.currentScript;
  var base = script.src.replace(/[^/]*$/, "");
  var cells = document.querySelectorAll('.cell[class*="tag_live-"]');
  if (!cells.length) return;

  var css = document.createElement("link");
  css.rel = "stylesheet";
  css.href = base + "bertlive.css";
  document.head.appendChild(css);

  function note(cell, html) {
    var box = document.createElement("p");
    box.className = "bertlive-note bertlive-fallback";
    box.setAttribute("role", "status");
    box.innerHTML = html;
    var output = cell.querySelector(".cell_output");
    cell.insertBefore(box, output || null);
  }

  function fallback(html) {
    for (var i = 0; i < cells.length; i++) note(cells[i], html);
  }

  var saved = " The output below was saved when the book was built; changing it needs a kernel (Jupyter or Colab).";
  if (location.protocol === "file:") {
    fallback(
      "<strong>Live explorer off:</strong> this page was opened from disk, where the browser " +
        "may not load the book's models. Run <code>make serve</code> in the repository and open " +
        "<a href=\"http://127.0.0.1:8000/\">http://127.0.0.1:8000/</a>." + saved
    );
    return;
  }
  if (typeof WebAssembly !== "object") {
    fallback("<strong>Live explorer off:</strong> this browser has no WebAssembly." + saved);
    return;
  }
  import(base + "bertlive.mjs")
    .then(function (live) {
      return live.start(cells);
    })
    .catch(function (err) {
      fallback(
        "<strong>Live explorer off:</strong> it could not start (" +
          String((err && err.message) || err).replace(/[<&]/g, "") +
          ")." + saved
      );
    });
})();
