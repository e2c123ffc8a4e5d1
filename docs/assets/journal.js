// What the journal's pages do in the reader's browser, with either site engine:
// - a table wider than its column scrolls, and its scrolling area is reachable from the
//   keyboard (a tab stop, named by the table's caption or first header) and marked as
//   scrolling (journal.css draws its edge);
// - a ✓ after a claim links to its entry in the post's list of checked claims: following
//   it opens the list (a collapsed box) at that entry;
// - the theme's search dialog gets a name (assistive technology announces a dialog by it).
(function () {
  function names(root) {
    root.querySelectorAll('[role="dialog"]:not([aria-label]):not([aria-labelledby])').forEach(function (el) {
      if (el.classList.contains("md-search")) el.setAttribute("aria-label", "Search");
    });
  }

  function scrollers(root) {
    root.querySelectorAll(".md-typeset table").forEach(function (table) {
      var box = table.closest(".md-typeset__scrollwrap") || table.parentElement;
      if (!box) return;
      if (box.scrollWidth > box.clientWidth + 1) {
        box.classList.add("journal-scrolls");
        if (!box.hasAttribute("tabindex")) {
          var caption = box.parentElement && box.parentElement.nextElementSibling;
          var name = caption && caption.tagName === "P" && caption.querySelector("em")
            ? caption.textContent.trim()
            : "table: " + Array.from(table.querySelectorAll("th")).slice(0, 3)
                .map(function (th) { return th.textContent.trim(); }).filter(Boolean).join(", ");
          box.setAttribute("tabindex", "0");
          box.setAttribute("role", "region");
          box.setAttribute("aria-label", (name || "table").slice(0, 120) + " (scrolls sideways)");
        }
      } else if (box.classList.contains("journal-scrolls")) {
        box.classList.remove("journal-scrolls");
        box.removeAttribute("tabindex");
        box.removeAttribute("role");
        box.removeAttribute("aria-label");
      }
    });
  }

  function openTarget() {
    var id = decodeURIComponent(location.hash.slice(1));
    var target = id && document.getElementById(id);
    if (!target) return;
    for (var el = target.parentElement; el; el = el.parentElement) {
      if (el.tagName === "DETAILS") el.open = true;
    }
    target.scrollIntoView({ block: "center" });
  }

  function ready() {
    names(document);
    scrollers(document);
    openTarget();
  }

  window.addEventListener("hashchange", openTarget);
  window.addEventListener("resize", function () { scrollers(document); });
  if (typeof document$ !== "undefined") {
    document$.subscribe(function () { setTimeout(ready, 0); });   // after the theme's own setup
  } else if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", function () { setTimeout(ready, 0); });
  } else {
    setTimeout(ready, 0);
  }
})();
