// Typeset the math that pymdownx.arithmatex (generic mode) leaves in the page:
// <span class="arithmatex">\(...\)</span> inline, <div class="arithmatex">\[...\]</div> displayed.
// KaTeX is served from this site (assets/katex/), so reading a page fetches nothing elsewhere.
(function () {
  function typeset(root) {
    if (typeof katex === "undefined") return;
    root.querySelectorAll(".arithmatex").forEach(function (el) {
      if (el.dataset.typeset) return;
      var tex = el.textContent.trim();
      var display = el.tagName === "DIV";
      tex = tex.replace(/^\\[([]|^\$\$?/, "").replace(/\\[)\]]$|\$\$?$/, "");
      try {
        katex.render(tex, el, { displayMode: display, throwOnError: false });
        el.dataset.typeset = "1";
      } catch (e) {
        console.warn("math: " + e);
      }
    });
  }
  if (typeof document$ !== "undefined") {
    document$.subscribe(function () { typeset(document.body); });   // Material's instant pages
  } else if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", function () { typeset(document.body); });
  } else {
    typeset(document.body);
  }
})();
