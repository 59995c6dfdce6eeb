(function () {
  'use strict';
  var SLOW_MS = 3000, TIMEOUT_MS = 30000, TOP_K = 5;
  var $ = function (id) { return document.getElementById(id); };
  var form = $('ask-form'), input = $('question'), button = $('ask');
  var statusEl = $('status'), errorEl = $('error'), results = $('results');
  var answerEl = $('answer'), citesEl = $('citations'), citesHead = $('citations-heading'), metaEl = $('meta');
  var fromEl = $('from'), toEl = $('to'), timeEl = $('time-note');
  var keyForm = $('key-form'), keyInput = $('read-key');
  var current = null; // {controller, timers}
  var KEY_ITEM = 'qa-read-key'; // a read key the user typed, kept for this tab only
  var pending = null; // the question refused for want of a key, asked again once one is given

  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    if (attrs) Object.keys(attrs).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    if (text != null) node.textContent = String(text);
    return node;
  }
  function clear(node) { while (node.firstChild) node.removeChild(node.firstChild); }

  function showError(message, items) {
    clear(errorEl);
    errorEl.appendChild(el('strong', null, message));
    if (items && items.length) {
      var ul = el('ul');
      items.forEach(function (t) { ul.appendChild(el('li', null, t)); });
      errorEl.appendChild(ul);
    }
    errorEl.hidden = false;
  }
  function hideError() { clear(errorEl); errorEl.hidden = true; }

  // Turn a FastAPI error body into a headline plus optional list of messages.
  function describeError(status, body) {
    var detail = body && body.detail;
    if (typeof detail === 'string' && detail) {
      return { message: status === 503 ? 'Service not ready: ' + detail : detail };
    }
    if (Array.isArray(detail) && detail.length) {
      var msgs = detail.map(function (d) {
        if (!d || typeof d !== 'object') return String(d);
        var loc = Array.isArray(d.loc) ? d.loc.filter(function (p) { return p !== 'body'; }).join('.') : '';
        return (loc ? loc + ': ' : '') + (d.msg || 'invalid value');
      });
      return { message: 'The question was not accepted:', items: msgs };
    }
    if (status === 503) return { message: 'The index is not loaded yet. Please try again shortly.' };
    return { message: 'The service returned an error (HTTP ' + status + ').' };
  }

  // Split quote into text / <mark> pieces for answer sentences inside this citation.
  function renderQuote(c, sentences) {
    var quote = String(c.quote || ''), len = quote.length;
    var ranges = (sentences || []).filter(function (s) {
      return s.article_id === c.article_id && c.start <= s.start && s.end <= c.end;
    }).map(function (s) {
      return [Math.max(0, s.start - c.start), Math.min(len, s.end - c.start)];
    }).filter(function (r) { return r[1] > r[0]; })
      .sort(function (a, b) { return a[0] - b[0]; });
    var block = el('blockquote', { 'class': 'cite-quote' }), pos = 0;
    ranges.forEach(function (r) {
      if (r[0] < pos) r[0] = pos; // overlapping ranges: merge
      if (r[1] <= r[0]) return;
      if (r[0] > pos) block.appendChild(document.createTextNode(quote.slice(pos, r[0])));
      block.appendChild(el('mark', null, quote.slice(r[0], r[1])));
      pos = r[1];
    });
    if (pos < len) block.appendChild(document.createTextNode(quote.slice(pos)));
    return block;
  }

  // One entry per article (title, link, source and date once), its cited passages inside it,
  // each keeping its number and exact span.
  function renderSource(group, sentences) {
    var first = group[0];
    var li = el('li', { 'class': 'source' });
    var title = el('p', { 'class': 'cite-title' });
    var titleText = first.title || first.article_id || 'Untitled article';
    if (first.url && /^https?:\/\//i.test(first.url)) {
      title.appendChild(el('a', { 'class': 'cite-link', href: first.url, target: '_blank', rel: 'noopener' }, titleText));
    } else {
      title.textContent = titleText;
    }
    li.appendChild(title);
    var meta = [first.source, first.published].filter(function (x) { return x; }).join(' · ');
    if (meta) li.appendChild(el('p', { 'class': 'cite-meta' }, meta));
    var passages = el('ol', { 'class': 'passages' });
    group.forEach(function (c) {
      var item = el('li', { id: 'cite-' + c.n, 'class': 'citation' });
      item.appendChild(el('span', { 'class': 'cite-num' }, '[' + c.n + ']'));
      item.appendChild(renderQuote(c, sentences));
      passages.appendChild(item);
    });
    li.appendChild(passages);
    return li;
  }

  // Citations grouped by article, in the order each article is first cited.
  function byArticle(citations) {
    var groups = [], index = {};
    citations.forEach(function (c) {
      var key = String(c.article_id);
      if (!(key in index)) { index[key] = groups.length; groups.push([]); }
      groups[index[key]].push(c);
    });
    return groups;
  }

  function render(data) {
    clear(answerEl); clear(citesEl); clear(metaEl);
    var sentences = Array.isArray(data.sentences) ? data.sentences : [];
    var citations = Array.isArray(data.citations) ? data.citations : [];
    var hasAnswer = data.answer != null && data.answer !== '';
    if (hasAnswer) {
      var p = el('p');
      if (sentences.length) {
        sentences.forEach(function (s, i) {
          if (i > 0) p.appendChild(document.createTextNode(' '));
          p.appendChild(el('span', { 'class': 'sentence' }, s.text));
          (s.citations || []).forEach(function (n, j) {
            p.appendChild(document.createTextNode(j === 0 ? '\u00a0' : ' ')); // keep first marker on the sentence's line
            p.appendChild(el('a', { href: '#cite-' + n, 'class': 'cite-marker' }, '[' + n + ']'));
          });
          if (s.published && s.published !== (sentences[i + 1] || {}).published) {
            p.appendChild(el('span', { 'class': 'sentence-date' }, ' (' + s.published + ')'));
          }
        });
      } else {
        p.textContent = data.answer;
      }
      answerEl.appendChild(p);
    } else {
      answerEl.appendChild(el('p', { 'class': 'no-answer' },
        data.message || 'Nothing in the corpus answers this question.'));
    }
    renderTime(data.time, sentences, hasAnswer);
    citesHead.textContent = hasAnswer ? 'Sources' : 'Closest passages';
    citesHead.hidden = citations.length === 0;
    byArticle(citations).forEach(function (group) {
      citesEl.appendChild(renderSource(group, hasAnswer ? sentences : []));
    });
    if (data.index_version != null || data.took_ms != null) {
      metaEl.textContent = 'index version ' + data.index_version + ' · ' + Math.round(Number(data.took_ms) || 0) + ' ms';
    }
    results.hidden = false;
  }

  // What the question said of time: "as of <date>" for the current state, or the window searched.
  function renderTime(time, sentences, hasAnswer) {
    timeEl.hidden = true;
    timeEl.textContent = '';
    if (!time) return;
    if (time.latest) {
      var dates = sentences.map(function (s) { return s.published; }).filter(function (d) { return d; }).sort();
      timeEl.textContent = hasAnswer && dates.length ? 'As of ' + dates[dates.length - 1] + ' (the newest source).'
        : 'Newest sources first, as of ' + time.as_of + '.';
    } else {
      timeEl.textContent = 'Searched articles published ' + (time.from || '…') + ' to ' + (time.to || '…') +
        ' (' + time.reason + ').';
    }
    timeEl.hidden = false;
  }

  function finish(req) {
    clearTimeout(req.slowTimer); clearTimeout(req.abortTimer);
    if (current === req) { current = null; button.disabled = false; statusEl.textContent = ''; }
  }

  function request(question) {
    var body = { question: question, top_k: TOP_K };
    var filters = {};
    if (fromEl.value) filters.published_after = fromEl.value;
    if (toEl.value) filters.published_before = toEl.value;
    if (Object.keys(filters).length) body.filters = filters;
    return body;
  }

  function ask(question) {
    question = question.trim();
    if (!question) return;
    if (current) { current.superseded = true; current.controller.abort(); finish(current); }
    var url = new URL(window.location.href);
    url.searchParams.set('q', question); url.hash = '';
    history.replaceState(null, '', url.pathname + url.search);

    var req = { controller: new AbortController(), timedOut: false, superseded: false };
    current = req;
    hideError(); results.hidden = true; clear(metaEl);
    button.disabled = true;
    statusEl.textContent = 'Searching…';
    req.slowTimer = setTimeout(function () {
      statusEl.textContent = 'Still searching… this is taking longer than usual';
    }, SLOW_MS);
    req.abortTimer = setTimeout(function () { req.timedOut = true; req.controller.abort(); }, TIMEOUT_MS);

    var headers = { 'Content-Type': 'application/json', 'Accept': 'application/json' };
    var key = sessionStorage.getItem(KEY_ITEM);
    if (key) headers.Authorization = 'Bearer ' + key;
    fetch('/ask', {
      method: 'POST',
      headers: headers,
      body: JSON.stringify(request(question)),
      signal: req.controller.signal
    }).then(function (resp) {
      return resp.json().catch(function () { return null; }).then(function (body) {
        if (req.superseded) return;
        if (resp.status === 401) { askForKey(question, key); return; }
        if (!resp.ok) { var e = describeError(resp.status, body); showError(e.message, e.items); return; }
        if (!body || typeof body !== 'object') { showError('The service sent an unreadable response.'); return; }
        render(body);
      });
    }).catch(function () {
      if (req.superseded) return;
      if (req.timedOut) showError('The request timed out after ' + TIMEOUT_MS / 1000 + ' seconds. Please try again.');
      else showError('Could not reach the service');
    }).then(function () { finish(req); });
  }

  // The service has read keys (QA_READ_KEYS): ask for one, then ask the question again with it.
  function askForKey(question, tried) {
    if (tried) sessionStorage.removeItem(KEY_ITEM);
    pending = question;
    showError(tried ? 'That key was not accepted.' : 'This service needs a read key.');
    keyForm.hidden = false;
    keyInput.focus();
  }

  keyForm.addEventListener('submit', function (ev) {
    ev.preventDefault();
    var key = keyInput.value.trim();
    if (!key) return;
    sessionStorage.setItem(KEY_ITEM, key);
    keyInput.value = '';
    keyForm.hidden = true;
    if (pending) ask(pending);
  });

  form.addEventListener('submit', function (ev) {
    ev.preventDefault();
    ask(input.value);
  });

  var initial = new URLSearchParams(window.location.search).get('q');
  if (initial && initial.trim()) {
    input.value = initial.slice(0, 1000);
    ask(input.value);
  }
})();
