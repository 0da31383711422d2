// Atrium visits: before a check-in or check-out form (form[data-geo]) is sent, asks the
// browser for its position and puts latitude, longitude and accuracy (metres) into the
// form's hidden fields. A refused, failed, missing or slow location (8 s) sends the form
// without a position: the visit is checked in or out all the same.
(function () {
  'use strict';
  var LIMIT_MS = 8000;

  function fill(form, name, value) {
    var input = form.querySelector('input[name="' + name + '"]');
    if (input) { input.value = value; }
  }

  function send(form) {
    form.setAttribute('data-geo-sent', '1');
    var buttons = form.querySelectorAll('button');
    for (var i = 0; i < buttons.length; i++) { buttons[i].disabled = true; }
    form.submit();
  }

  document.addEventListener('submit', function (event) {
    var form = event.target;
    if (!form || !form.hasAttribute || !form.hasAttribute('data-geo')) { return; }
    if (form.getAttribute('data-geo-sent')) { event.preventDefault(); return; }
    if (!navigator.geolocation) { return; }
    event.preventDefault();
    var status = form.querySelector('[data-geo-status]');
    if (status) { status.textContent = status.getAttribute('data-locating') || ''; }
    var finished = false;
    function finish(position) {
      if (finished) { return; }
      finished = true;
      if (position && position.coords) {
        fill(form, 'latitude', position.coords.latitude.toFixed(6));
        fill(form, 'longitude', position.coords.longitude.toFixed(6));
        fill(form, 'accuracy', String(Math.round(position.coords.accuracy || 0)));
      }
      send(form);
    }
    var timer = setTimeout(function () { finish(null); }, LIMIT_MS);
    try {
      navigator.geolocation.getCurrentPosition(
        function (position) { clearTimeout(timer); finish(position); },
        function () { clearTimeout(timer); finish(null); },
        { enableHighAccuracy: true, timeout: LIMIT_MS - 1000, maximumAge: 60000 });
    } catch (error) {
      clearTimeout(timer);
      finish(null);
    }
  });
})();
