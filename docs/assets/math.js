// Typeset the math that pymdownx.arithmatex (generic mode) leaves in the page:
// <span class="arithmatex">\(...\)</span> inline, <div class="arithmatex">\[...\]</div> displayed.
// KaTeX is served from this site (assets/katex/), so reading a page fetches nothing elsewhere,
// and only a page that has math loads it: its script and stylesheet (about 290 KB) and the
// fonts the formulas use.
(function () {
  var here = document.currentScript && document.currentScript.src;
  var katexDir = here ? new URL("katex/", here).href : null;
  var loading = null;

  function load() {
    if (typeof katex !== "undefined") return Promise.resolve();
    if (loading) return loading;
    loading = new Promise(function (resolve, reject) {
      var css = document.createElement("link");
      css.rel = "stylesheet";
      css.href = katexDir + "katex.min.css";
      document.head.appendChild(css);
      var js = document.createElement("script");
      js.src = katexDir + "katex.min.js";
      js.onload = function () { resolve(); };
      js.onerror = function () { reject(new Error("could not load " + js.src)); };
      document.head.appendChild(js);
    });
    return loading;
  }

  function typeset(root) {
    var math = root.querySelectorAll(".arithmatex:not([data-typeset])");
    if (!math.length || !katexDir) return;
    load().then(function () {
      math.forEach(function (el) {
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
    }, function (e) { console.warn("math: " + e.message); });
  }

  if (typeof document$ !== "undefined") {
    document$.subscribe(function () { typeset(document.body); });   // Material's instant pages
  } else if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", function () { typeset(document.body); });
  } else {
    typeset(document.body);
  }
})();
