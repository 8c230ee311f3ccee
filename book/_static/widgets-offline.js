// Loaded on pages with ipywidgets, after require.js and before the widget manager
// (nb_ipywidgets_js in _config.yml). Three fixes so that saved widgets render offline:
(function () {
  // 1. The manager's modules look for their icon fonts next to their require.js module
  //    URL, which would otherwise be the page's own folder: map them to the vendored copy
  //    (the fonts sit next to embed-amd.js in _static/vendor/html-manager/).
  var here = document.currentScript.src;
  var vendor = here.slice(0, here.lastIndexOf("/") + 1) + "vendor/html-manager";
  var paths = { "@jupyter-widgets/html-manager/dist": vendor };
  ["html-manager", "base", "base7", "controls", "controls7"].forEach(function (name) {
    paths["@jupyter-widgets/" + name] = vendor + "/" + name;
  });
  window.require.config({ paths: paths });

  // 2. The theme's Font Awesome replaces every <i class="fa ..."> added to the page by an
  //    <svg>; the Play widget then cannot find its <i> and its button stops working. Only
  //    convert the icons present when the page loads (the theme's); widget icons are drawn
  //    by the widget manager's own icon font.
  window.FontAwesomeConfig = Object.assign(window.FontAwesomeConfig || {}, { observeMutations: false });

  // 3. Widget labels are typeset with the MathJax 2 call MathJax.Hub.Queue, but the book
  //    ships MathJax 3, where that call throws and aborts the widget's rendering. This
  //    listener runs before the manager's (it is registered first) and forwards the call.
  window.addEventListener("load", function () {
    var mj = window.MathJax;
    if (mj && !mj.Hub) {
      mj.Hub = {
        Queue: function (job) {
          if (Array.isArray(job) && job[0] === "Typeset" && mj.typesetPromise) {
            mj.typesetPromise(job[2] ? [job[2]] : undefined).catch(function () {});
          }
        },
      };
    }
  });
})();
