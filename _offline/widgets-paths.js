// Tell require.js where the saved-widget manager lives (this folder's widgets/), so the
// fonts it loads resolve to the book's own copies instead of paths beside each page.
(function () {
  var src = document.currentScript && document.currentScript.src;
  if (!src || !window.require) return;
  var base = src.slice(0, src.lastIndexOf("/")) + "/widgets";
  window.require.config({ paths: { "@jupyter-widgets/html-manager/dist": base } });
})();
