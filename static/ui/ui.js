/* The design system's behaviour, on every page (see static/README.md): relative times kept
   current, toasts that close, avatars that fall back to initials. No inline handlers: the
   Content-Security-Policy allows no inline script. */
(() => {
  "use strict";
  const lang = document.documentElement.lang || "pt-BR";
  const words = new Intl.RelativeTimeFormat(lang, { numeric: "auto", style: "short" });
  const exact = new Intl.DateTimeFormat(lang, { dateStyle: "full", timeStyle: "short" });
  const dayAndMonth = new Intl.DateTimeFormat(lang, { day: "numeric", month: "short" });
  const fullDate = new Intl.DateTimeFormat(lang, { dateStyle: "medium" });
  const UNITS = [["day", 86400], ["hour", 3600], ["minute", 60]];
  const WEEK = 7 * 86400;

  /* "5 min ago" / "há 5 min." for <time class="relative" datetime="...">; a week or more
     ago, the date. The exact moment is its title (shown on hover). */
  function relativeText(moment, now = Date.now()) {
    const seconds = (moment.getTime() - now) / 1000;
    if (Math.abs(seconds) < 45) return words.format(0, "second");
    if (Math.abs(seconds) >= WEEK) {
      return moment.getFullYear() === new Date(now).getFullYear() ? dayAndMonth.format(moment) : fullDate.format(moment);
    }
    const [unit, size] = UNITS.find(([, length]) => Math.abs(seconds) >= length) || ["minute", 60];
    return words.format(Math.round(seconds / size), unit);
  }

  function relativeTimes(root = document) {
    const elements = root.matches?.("time.relative") ? [root] : root.querySelectorAll?.("time.relative") || [];
    elements.forEach((element) => {
      const moment = new Date(element.getAttribute("datetime"));
      if (Number.isNaN(moment.getTime())) return;
      element.textContent = relativeText(moment);
      if (!element.title) element.title = exact.format(moment);
    });
  }

  /* Toasts: close buttons; success and info ones leave by themselves. */
  const TOAST_SECONDS = 6;
  function closeToast(toast) {
    if (!toast || toast.dataset.leaving) return;
    toast.dataset.leaving = "1";
    setTimeout(() => toast.remove(), 200);
  }
  function toasts(root = document) {
    const elements = root.matches?.(".toast") ? [root] : root.querySelectorAll?.(".toast") || [];
    elements.forEach((toast) => {
      if (toast.dataset.ready) return;
      toast.dataset.ready = "1";
      if (!toast.classList.contains("flash-error") && !toast.classList.contains("flash-warning")) {
        let timer = setTimeout(() => closeToast(toast), TOAST_SECONDS * 1000);
        // Not while someone reads it or has the keyboard on it.
        toast.addEventListener("mouseenter", () => clearTimeout(timer));
        toast.addEventListener("focusin", () => clearTimeout(timer));
        toast.addEventListener("mouseleave", () => { timer = setTimeout(() => closeToast(toast), TOAST_SECONDS * 1000); });
      }
    });
  }
  document.addEventListener("click", (event) => {
    const close = event.target.closest("[data-dismiss=toast]");
    if (close) closeToast(close.closest(".toast"));
  });

  /* Avatars: a picture that does not load leaves the initials under it. */
  function dropBrokenPicture(image) {
    if (image.matches?.(".avatar img")) image.remove();
  }
  document.addEventListener("error", (event) => dropBrokenPicture(event.target), true);
  function avatars(root = document) {
    (root.querySelectorAll?.(".avatar img") || []).forEach((image) => {
      if (image.complete && image.naturalWidth === 0) image.remove();
    });
  }

  function enhance(root) { relativeTimes(root); toasts(root); avatars(root); }

  // Whatever htmx or a script puts into the page later gets the same treatment.
  new MutationObserver((records) => {
    for (const record of records) {
      for (const node of record.addedNodes) if (node.nodeType === 1) enhance(node);
    }
  }).observe(document.documentElement, { childList: true, subtree: true });
  setInterval(() => relativeTimes(), 30000);
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", () => enhance(document));
  else enhance(document);

  window.ui = { relativeTimes, relativeText };
})();
