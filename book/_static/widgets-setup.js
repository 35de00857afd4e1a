// Set-up for the ipywidgets HTML manager, on pages that hold widget state.
// myst-nb loads this between require.js and embed-amd.js (both vendored from
// npm by scripts/fetch_vendor.py), all three deferred; see nb_ipywidgets_js
// in _config.yml.
(function () {
  // 1. Where require.js finds the manager's modules. embed-amd.js defines
  // them by name, and each locates its icon fonts next to its own module
  // URL, which require.js derives from the name: without these paths it
  // would look in `<page folder>/@jupyter-widgets/...` and miss.
  var manager = new URL("vendor/html-manager/", document.currentScript.src).href;
  var names = [
    "base", "base7", "controls", "controls7", "html-manager",
    "html-manager/dist/libembed-amd",
  ];
  var paths = {};
  names.forEach(function (name) {
    paths["@jupyter-widgets/" + name] = manager + name.split("/").pop();
  });
  require.config({ paths: paths });

  // 2. The controls typeset their labels with the MathJax 2 API
  // (MathJax.Hub.Queue) whenever a MathJax is on the page, but the book
  // uses MathJax 3 (on pages with equations), so a widget with a description
  // throws "Cannot read properties of undefined (reading 'Queue')". Give
  // MathJax 3 that one call. Widgets render on the window's load event, after
  // the deferred MathJax script has run and after DOMContentLoaded.
  document.addEventListener("DOMContentLoaded", function () {
    var mathjax = window.MathJax;
    if (!mathjax || mathjax.Hub || !mathjax.version || mathjax.version[0] !== "3") return;
    mathjax.Hub = {
      Queue: function (command) {
        // command is ["Typeset", MathJax.Hub, element]
        var element = Array.isArray(command) ? command[2] : undefined;
        if (window.MathJax.typesetPromise) {
          window.MathJax.typesetPromise(element ? [element] : undefined);
        }
      },
    };
  });

  // 3. Names for screen readers. A slider's handle (role="slider") has no
  // name of its own: give it the slider's description ("layer", "head").
  // A figure an interactive widget draws (an Output widget's image) has no
  // alt text: say what it is. The manager draws the widgets after the load
  // event and redraws a figure whenever a slider moves, so watch the page.
  function describe(root) {
    root.querySelectorAll(".noUi-handle[role=slider]:not([aria-label])").forEach(function (handle) {
      var widget = handle.closest(".widget-slider, .jupyter-widgets");
      var label = widget && widget.querySelector(".widget-label");
      var text = label && label.textContent.trim();
      handle.setAttribute("aria-label", text || "slider");
    });
    root.querySelectorAll(".widget-subarea img:not([alt])").forEach(function (img) {
      var box = img.closest(".widget-interact, .widget-subarea");
      var names = Array.prototype.map.call(
        box.querySelectorAll(".widget-label"),
        function (label) { return label.textContent.trim(); }
      ).filter(Boolean);
      img.setAttribute(
        "alt",
        "Figure drawn by the interactive explorer" +
          (names.length ? " for the chosen " + names.join(" and ") : "")
      );
    });
  }
  var pending = false;
  new MutationObserver(function () {
    if (pending) return;
    pending = true;
    window.setTimeout(function () {
      pending = false;
      describe(document);
    }, 50);
  }).observe(document.documentElement, { childList: true, subtree: true });
})();
