// nself schema docs: the search box filters the page to the objects whose name holds the
// text (tables, views, types as sections; functions and sequences as rows), and the table of
// contents to their links. Nothing is fetched.
(function () {
  "use strict";
  var search = document.getElementById("search");
  var count = document.getElementById("search-count");
  var items = [];
  document.querySelectorAll("section.object").forEach(function (section) {
    var name = section.querySelector("h3 code");
    items.push({ element: section, id: section.id, text: name ? name.textContent.toLowerCase() : "" });
  });
  document.querySelectorAll("section.functions tbody tr, section.sequences tbody tr").forEach(function (row) {
    var name = row.querySelector("td");
    items.push({ element: row, id: row.id, text: name ? name.textContent.toLowerCase() : "" });
  });
  var links = {};
  document.querySelectorAll("nav#contents a[href^='#']").forEach(function (a) {
    links[a.getAttribute("href").slice(1)] = a;
  });
  function filter() {
    var query = search.value.trim().toLowerCase();
    var shown = 0;
    items.forEach(function (item) {
      var match = !query || item.text.indexOf(query) >= 0;
      item.element.classList.toggle("hidden", !match);
      var link = links[item.id];
      if (link) link.classList.toggle("hidden", !match);
      if (match) shown += 1;
    });
    count.textContent = query ? shown + " of " + items.length + " match" : "";
  }
  search.addEventListener("input", filter);
  search.addEventListener("keydown", function (event) {
    if (event.key === "Escape") {
      search.value = "";
      filter();
    } else if (event.key === "Enter") {
      var first = items.filter(function (item) { return !item.element.classList.contains("hidden"); })[0];
      if (first && first.id) location.hash = first.id;
    }
  });
  document.addEventListener("keydown", function (event) {
    if (event.key === "/" && event.target !== search) {
      event.preventDefault();
      search.focus();
    }
  });
})();
