"use strict";
// ReDoc's init, a file rather than an inline script so the Content-Security-Policy
// allows scripts from our own origin only. The page passes its settings as data attributes.
(function () {
  // ReDoc's side menu always shows Redocly's logo from their CDN. The docs load
  // nothing from outside (the policy would refuse it anyway), so it gets an empty image.
  const outsideLogo = "https://cdn.redoc.ly/redoc/logo-mini.svg";
  const emptyImage = "data:image/gif;base64,R0lGODlhAQABAAAAACH5BAEKAAEALAAAAAABAAEAAAICTAEAOw==";
  const src = Object.getOwnPropertyDescriptor(HTMLImageElement.prototype, "src");
  Object.defineProperty(HTMLImageElement.prototype, "src", {
    ...src,
    set(value) {
      src.set.call(this, value === outsideLogo ? emptyImage : value);
    },
  });

  const container = document.getElementById("redoc-container");
  const settings = JSON.parse(container.dataset.settings || "{}");
  // ReDoc's styled-components add <style> elements: they carry the page's CSP nonce.
  settings.nonce = container.dataset.nonce;
  Redoc.init(container.dataset.schemaUrl, settings, container);
})();
