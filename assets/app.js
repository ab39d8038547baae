// weiops page behaviour. Everything works without this file; it only adds
// conveniences: "select all" checkboxes, group toggles, closing menus, the
// portal shop's running total.
(function () {
  "use strict";
  document.addEventListener("change", function (e) {
    var t = e.target;
    if (t.matches("[data-check-all]")) {
      var name = t.getAttribute("data-check-all");
      var form = t.closest("form") || document;
      form.querySelectorAll('input[type=checkbox][name="' + name + '"]').forEach(function (c) {
        c.checked = t.checked;
      });
    }
    if (t.matches("[data-check-group]")) {
      var box = document.getElementById(t.getAttribute("data-check-group"));
      if (box) box.querySelectorAll("input[type=checkbox]").forEach(function (c) { c.checked = t.checked; });
    }
  });
  // Close an open user menu when clicking elsewhere.
  document.addEventListener("click", function (e) {
    document.querySelectorAll("details.user-menu[open]").forEach(function (d) {
      if (!d.contains(e.target)) d.removeAttribute("open");
    });
  });
  // Print buttons (position descriptions, org charts, account lists).
  document.querySelectorAll("[data-print]").forEach(function (b) {
    b.addEventListener("click", function () { window.print(); });
  });
  // Wide charts open centred on their top (the root sits in the middle).
  document.querySelectorAll(".org-chart").forEach(function (box) {
    box.scrollLeft = Math.max(0, (box.scrollWidth - box.clientWidth) / 2);
  });
  // Pages following a background job reload until it ends.
  document.querySelectorAll("[data-refresh]").forEach(function (el) {
    setTimeout(function () { location.reload(); }, parseInt(el.getAttribute("data-refresh"), 10) || 1000);
  });
  // "Back" links on error pages.
  document.querySelectorAll("[data-back]").forEach(function (a) {
    a.addEventListener("click", function (e) {
      if (history.length > 1) { e.preventDefault(); history.back(); }
    });
  });
  // Tracking-number inputs (打单): a barcode scanner types the number and
  // Enter; Enter moves to the next input instead of submitting the form.
  document.addEventListener("keydown", function (e) {
    var t = e.target;
    if (e.key !== "Enter" || !t.matches || !t.matches("input[data-scan]")) return;
    e.preventDefault();
    var all = Array.prototype.slice.call(document.querySelectorAll("input[data-scan]"));
    var next = all[all.indexOf(t) + 1];
    if (next) next.focus();
  });
  // Batch buttons act on the checked rows: disabled while none is checked.
  function syncBatch() {
    document.querySelectorAll("[data-batch]").forEach(function (b) {
      var form = b.closest("form");
      b.disabled = !(form && form.querySelector('input[name="ids"]:checked'));
    });
  }
  document.addEventListener("change", syncBatch);
  syncBatch();
  // The portal shop's running total: quantity × the agent's level price,
  // added up in whole fen (integers, never fractions of a yuan) and written
  // as the server writes money. Placing the order prices it again there.
  function fenText(fen) {
    if (!Number.isSafeInteger(fen)) return "—";
    var yuan = String(Math.floor(fen / 100)).replace(/\B(?=(\d{3})+(?!\d))/g, ",");
    var rest = String(fen % 100);
    return "¥" + yuan + "." + (rest.length < 2 ? "0" + rest : rest);
  }
  function syncCart(form) {
    var units = 0, fen = 0;
    form.querySelectorAll("[data-price-fen]").forEach(function (item) {
      var input = item.querySelector("input[type=number]");
      var typed = input ? input.value.trim() : "";
      // Anything but a whole number counts as none, as on the server.
      if (!/^\+?\d+$/.test(typed)) return;
      var qty = parseInt(typed, 10);
      units += qty;
      fen += qty * parseInt(item.getAttribute("data-price-fen"), 10);
    });
    form.querySelectorAll("[data-shop-sum]").forEach(function (el) { el.textContent = fenText(fen); });
    form.querySelectorAll("[data-shop-units]").forEach(function (el) {
      el.textContent = el.getAttribute("data-template").replace("%{n}", String(units));
    });
  }
  document.addEventListener("input", function (e) {
    var form = e.target.closest && e.target.closest("form[data-shop]");
    if (form) syncCart(form);
  });
  document.querySelectorAll("form[data-shop]").forEach(syncCart);
})();
