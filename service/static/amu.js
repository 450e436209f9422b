// Progressive enhancement only: every page works without this file.
// A "Kopiér" button beside read-only fields marked data-copy (its value: what is copied, "link"
// when empty).
document.querySelectorAll("input[data-copy]").forEach(function (field) {
  if (!navigator.clipboard) { return; }
  var what = field.getAttribute("data-copy") || "link";
  var row = document.createElement("span");
  row.className = "copy-row";
  field.parentNode.insertBefore(row, field);
  row.appendChild(field);
  var button = document.createElement("button");
  button.type = "button";
  button.className = "button button-secondary";
  button.textContent = "Kopiér " + what;
  var status = document.createElement("span");
  status.setAttribute("role", "status");
  status.className = "muted";
  button.addEventListener("click", function () {
    navigator.clipboard.writeText(field.value).then(function () {
      status.textContent = what === "link" ? "Linket er kopieret." : "Kopieret.";
    });
  });
  row.appendChild(button);
  row.appendChild(status);
  field.addEventListener("focus", function () { field.select(); });
});

// The "Du er logget ud" page's form to the identity provider's logout: sent at once. It is a
// POST (the ID token must not appear in a URL); without JavaScript its button sends it.
document.querySelectorAll("form[data-submit-at-once]").forEach(function (form) {
  form.submit();
});
