// Admin console: readers, invitations and access requests. No framework, no innerHTML with data:
// every piece of text from the API goes through textContent / text nodes, so the page's strict CSP holds.
(() => {
  'use strict';

  const API = '/console/api';
  const DRAFT_KEY = 'magiclink.console.draft';
  const BOUNCE_KEY = 'magiclink.console.redirected-at';
  const PAGE_SIZE = 20;
  const meta = (name) => (document.querySelector(`meta[name="${name}"]`) || {}).content || '';
  const CSRF = meta('csrf-token');

  const ACCESS = [['Never', ''], ['1 hour', 60], ['1 day', 1440], ['7 days', 10080],
    ['30 days', 43200], ['90 days', 129600], ['1 year', 525600]];
  const LIFETIME = [['1 hour', 60], ['1 day', 1440], ['7 days', 10080]];
  const STATUSES = ['pending', 'active', 'expired', 'revoked'];
  const TIME = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });

  // ---- DOM helpers -------------------------------------------------------------------------------
  function el(tag, attrs, ...kids) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (value === false || value == null) continue;
      if (key === 'class') node.className = value;
      else if (key.startsWith('on')) node.addEventListener(key.slice(2), value);
      else node.setAttribute(key, value === true ? '' : String(value));
    }
    for (const kid of kids.flat()) if (kid != null && kid !== false) node.append(kid); // strings → text nodes
    return node;
  }
  const $ = (id) => document.getElementById(id);
  const options = (list, selected) => list.map(([label, value]) =>
    el('option', { value, selected: String(value) === String(selected) }, label));
  const field = (id, label, control, hint) =>
    el('div', { class: 'field' }, el('label', { for: id }, label), control, hint && el('p', { class: 'hint' }, hint));

  function when(iso, fallback) {
    if (!iso) return fallback;
    const date = new Date(iso);
    return Number.isNaN(date.getTime()) ? iso : el('time', { datetime: iso, title: iso }, TIME.format(date));
  }
  const fullName = (n) => n ? [n.first_name, n.middle_name, n.last_name].filter(Boolean).join(' ') : '';

  // ---- Status area (role=status, polite; errors get a role=alert child so they are announced) -----
  function say(message, isError) {
    const box = $('status');
    box.replaceChildren(el('p', { class: isError ? 'message error' : 'message ok', role: isError ? 'alert' : null }, message));
  }
  const fail = (error) => { if (!(error && error.expired)) say(error && error.message || String(error), true); };

  // ---- API ---------------------------------------------------------------------------------------
  class ApiError extends Error {
    constructor(message, status, expired) { super(message); this.status = status; this.expired = !!expired; }
  }
  let leaving = false;

  // A 429 changes nothing on the server, so one with a short Retry-After (a second link for one email
  // within a second, say) is waited out and sent again, once.
  const RETRY_AFTER_MAX_S = 5;

  async function api(method, path, body, retried) {
    const headers = { Accept: 'application/json' };
    const init = { method, headers, credentials: 'same-origin', cache: 'no-store' };
    if (method !== 'GET') {
      headers['Content-Type'] = 'application/json';
      headers['X-CSRF-Token'] = CSRF;
      init.body = JSON.stringify(body || {});
    }
    let response;
    try { response = await fetch(path, init); } catch (_) {
      throw new ApiError('Could not reach the server. Check your connection and try again.', 0);
    }
    const wait = Number(response.headers.get('Retry-After'));
    if (response.status === 429 && !retried && wait > 0 && wait <= RETRY_AFTER_MAX_S) {
      await new Promise((resolve) => setTimeout(resolve, wait * 1000));
      return api(method, path, body, true);
    }
    let data = null;
    try { data = await response.json(); } catch (_) { /* not JSON (e.g. a gateway error page) */ }
    if (response.status === 401) { sessionExpired(); throw new ApiError('Your session expired.', 401, true); }
    if (!response.ok) {
      throw new ApiError((data && data.error_message) || `The request failed (HTTP ${response.status}).`, response.status);
    }
    return data || {};
  }

  // 401: keep what was typed, then go back to the sign-in form. A guard stops a redirect loop when
  // the page itself loads but every API call is refused (e.g. a cookie path mismatch).
  function sessionExpired() {
    if (leaving) return;
    saveDraft();
    const last = Number(sessionStorage.getItem(BOUNCE_KEY) || 0);
    if (Date.now() - last < 15000) {
      say('Your session could not be confirmed. Sign out and sign in again.', true);
      return;
    }
    leaving = true;
    sessionStorage.setItem(BOUNCE_KEY, String(Date.now()));
    say('Your session expired. Taking you to sign in… (what you typed is kept)');
    window.location.assign('/console');
  }

  // ---- Grant form --------------------------------------------------------------------------------
  const FORM_FIELDS = ['grant-email', 'grant-first-name', 'grant-last-name', 'grant-role', 'grant-access', 'grant-lifetime'];

  function readForm() {
    const form = $('grant-form');
    const values = Object.fromEntries(FORM_FIELDS.map((id) => [id, $(id).value]));
    values['grant-reusable'] = $('grant-reusable').checked;
    values.delivery = (form.querySelector('input[name="delivery"]:checked') || {}).value || 'email';
    return values;
  }

  function saveDraft() {
    if (!$('grant-form')) return;
    const v = readForm();
    const typed = v['grant-email'].trim() || v['grant-first-name'].trim() || v['grant-last-name'].trim();
    try { if (typed) sessionStorage.setItem(DRAFT_KEY, JSON.stringify(v)); } catch (_) { /* storage full/blocked */ }
  }

  function restoreDraft() {
    let draft = null;
    try { draft = JSON.parse(sessionStorage.getItem(DRAFT_KEY) || 'null'); } catch (_) { /* ignore */ }
    sessionStorage.removeItem(DRAFT_KEY);
    if (!draft || typeof draft !== 'object') return false;
    for (const id of FORM_FIELDS) if (typeof draft[id] === 'string') $(id).value = draft[id];
    $('grant-reusable').checked = !!draft['grant-reusable'];
    const radio = document.querySelector(`#grant-form input[name="delivery"][value="${draft.delivery === 'none' ? 'none' : 'email'}"]`);
    if (radio) radio.checked = true;
    return true;
  }

  function buildGrantForm() {
    const radio = (value, label, checked) => el('label', { class: 'choice' },
      el('input', { type: 'radio', name: 'delivery', id: `grant-delivery-${value}`, value, checked }), ' ', label);
    const form = el('form', { id: 'grant-form', onsubmit: onGrant },
      field('grant-email', 'Email', el('input', { id: 'grant-email', name: 'email', type: 'email', required: true,
        autocomplete: 'off', spellcheck: 'false', maxlength: 254 })),
      el('div', { class: 'row' },
        field('grant-first-name', 'First name', el('input', { id: 'grant-first-name', name: 'first_name', autocomplete: 'off' })),
        field('grant-last-name', 'Last name', el('input', { id: 'grant-last-name', name: 'last_name', autocomplete: 'off' }))),
      el('div', { class: 'row' },
        field('grant-role', 'Role', el('input', { id: 'grant-role', name: 'role', value: 'reader', required: true })),
        field('grant-access', 'Access expires', el('select', { id: 'grant-access', name: 'access' }, options(ACCESS, ''))),
        field('grant-lifetime', 'Link valid for', el('select', { id: 'grant-lifetime', name: 'lifetime' }, options(LIFETIME, 1440)))),
      el('div', { class: 'field' }, el('label', { class: 'choice' },
        el('input', { type: 'checkbox', id: 'grant-reusable', name: 'reusable' }), ' Link can be used more than once')),
      el('fieldset', { class: 'delivery' }, el('legend', null, 'Delivery'),
        radio('email', 'Send email', true), radio('none', 'Only copy the link', false)),
      el('button', { type: 'submit', id: 'grant-submit', class: 'primary' }, 'Grant access'));
    const link = el('div', { id: 'link-box', class: 'link-box', hidden: true },
      el('label', { for: 'copied-link', id: 'copied-link-label' }, 'Link'),
      el('div', { class: 'copy-row' },
        el('input', { id: 'copied-link', type: 'text', readonly: true, spellcheck: 'false', onfocus: (e) => e.target.select() }),
        el('button', { type: 'button', id: 'copy-button', onclick: () => copyShown(true) }, 'Copy link')));
    return el('section', { id: 'grant-section', class: 'card', 'aria-labelledby': 'grant-title' },
      el('h2', { id: 'grant-title' }, 'Grant access'), form, link);
  }

  async function onGrant(event) {
    event.preventDefault();
    const form = event.currentTarget;
    if (!form.reportValidity()) return;
    const v = readForm();
    const email = v['grant-email'].trim();
    const body = {
      email,
      name: { first_name: v['grant-first-name'].trim(), last_name: v['grant-last-name'].trim() },
      role: v['grant-role'].trim() || 'reader',
      access_expiration_minutes: v['grant-access'] === '' ? null : Number(v['grant-access']),
      invite_expiration_minutes: Number(v['grant-lifetime']),
      reusable: v['grant-reusable'],
      delivery: v.delivery,
    };
    const button = $('grant-submit');
    button.disabled = true;
    try {
      const data = await api('POST', `${API}/readers`, body);
      const who = (data.reader && data.reader.email) || email;
      if (data.magic_link_url) {
        const copied = await showLink(data.magic_link_url, who);
        say(`Access granted to ${who}. ${copied ? 'The link is copied to your clipboard.' : 'Copy the link below.'}`);
      } else {
        say(`Access granted to ${who}. The invitation is on its way by email.`);
      }
      for (const id of ['grant-email', 'grant-first-name', 'grant-last-name']) $(id).value = '';
      loadReaders();
      loadRequests();
    } catch (error) {
      fail(error);
    } finally {
      button.disabled = false;
    }
  }

  // ---- Copying links -----------------------------------------------------------------------------
  async function showLink(url, email) {
    $('copied-link').value = url;
    $('copied-link-label').textContent = `Link for ${email}`;
    $('link-box').hidden = false;
    return copyShown(false);
  }

  async function copyShown(announce) {
    const input = $('copied-link');
    let copied = false;
    try { await navigator.clipboard.writeText(input.value); copied = true; } catch (_) {
      input.focus();
      input.select();
      try { copied = document.execCommand('copy'); } catch (_) { copied = false; }
    }
    if (announce) say(copied ? 'Link copied to the clipboard.' : 'The link is selected: press Ctrl+C (⌘C on a Mac) to copy it.');
    return copied;
  }

  // ---- Readers table -----------------------------------------------------------------------------
  const state = { status: '', email: '', cursor: null, previous: [], next: null };
  let loadSeq = 0;
  let debounce = 0;

  function buildReaders() {
    const statusFilter = el('select', { id: 'filter-status', onchange: (e) => { state.status = e.target.value; firstPage(); } },
      options([['All', ''], ...STATUSES.map((s) => [s[0].toUpperCase() + s.slice(1), s])], ''));
    const search = el('input', { id: 'filter-email', type: 'search', autocomplete: 'off', spellcheck: 'false',
      placeholder: 'Starts with…', oninput: (e) => {
        clearTimeout(debounce);
        debounce = setTimeout(() => { const value = e.target.value.trim(); if (value !== state.email) { state.email = value; firstPage(); } }, 300);
      } });
    const heads = ['Email', 'Name', 'Role', 'Status', 'Access expires', 'Link', 'Last sign-in', 'Sign-ins', 'Actions'];
    const table = el('table', { id: 'readers' },
      el('caption', { class: 'visually-hidden' }, 'Readers'),
      el('thead', null, el('tr', null, heads.map((h) => el('th', { scope: 'col' }, h)))),
      el('tbody'));
    return el('section', { id: 'readers-section', class: 'card wide', 'aria-labelledby': 'readers-title' },
      el('h2', { id: 'readers-title' }, 'Readers'),
      el('div', { class: 'filters' }, field('filter-status', 'Status', statusFilter), field('filter-email', 'Email', search)),
      el('div', { class: 'table-wrap', tabindex: 0, role: 'region', 'aria-labelledby': 'readers-title' }, table),
      el('nav', { class: 'pager', 'aria-label': 'Readers pages' },
        el('button', { type: 'button', id: 'prev-page', disabled: true, onclick: prevPage }, 'Previous page'),
        el('span', { id: 'page-info', 'aria-live': 'polite' }, ''),
        el('button', { type: 'button', id: 'next-page', disabled: true, onclick: nextPage }, 'Next page')));
  }

  function firstPage() { state.cursor = null; state.previous = []; loadReaders(); }
  function nextPage() { if (!state.next) return; state.previous.push(state.cursor); state.cursor = state.next; loadReaders(); }
  function prevPage() { if (!state.previous.length) return; state.cursor = state.previous.pop(); loadReaders(); }

  async function loadReaders() {
    const mine = ++loadSeq;
    const query = new URLSearchParams({ limit: String(PAGE_SIZE) });
    if (state.status) query.set('status', state.status);
    if (state.email) query.set('email', state.email);
    if (state.cursor) query.set('cursor', state.cursor);
    const table = $('readers');
    table.setAttribute('aria-busy', 'true');
    $('next-page').disabled = true;
    $('prev-page').disabled = true;
    try {
      const data = await api('GET', `${API}/readers?${query}`);
      if (mine !== loadSeq) return;
      sessionStorage.removeItem(BOUNCE_KEY);
      state.next = data.next_cursor || null;
      const readers = data.readers || [];
      table.tBodies[0].replaceChildren(...(readers.length ? readers.map(readerRow)
        : [el('tr', { class: 'empty' }, el('td', { colspan: 9 }, 'No readers match.'))]));
    } catch (error) {
      if (mine === loadSeq) fail(error);
    } finally {
      if (mine === loadSeq) {
        table.removeAttribute('aria-busy');
        $('prev-page').disabled = state.previous.length === 0;
        $('next-page').disabled = !state.next;
        $('page-info').textContent = `Page ${state.previous.length + 1}`;
      }
    }
  }

  function readerRow(r) {
    const email = r.email;
    const status = el('td', { class: 'status' },
      el('span', { class: `badge badge-${r.status}`, title: r.revoked_at ? `Revoked ${r.revoked_at}` : null }, r.status));
    if (r.email_status && r.email_status !== 'deliverable') {
      status.append(' ', el('span', { class: `badge badge-${r.email_status}`, title: 'Email to this address fails' }, r.email_status));
    }
    const link = el('td', { class: 'link-state' }, el('span', { class: `link link-${r.link_state}` }, r.link_state || 'none'));
    if (r.link_state === 'active' && r.link_expires_at) link.append(' until ', when(r.link_expires_at, ''));
    if (r.link_state === 'active' && r.link_reusable) link.append(' (reusable)');
    if (r.link_state === 'active' && r.link_delivery === 'not_delivered') {
      link.append(' ', el('span', { class: 'link link-not-delivered', title: 'The email never went out: send a new link' }, 'not delivered'));
    }
    const button = (cls, text, label, kind) => el('button', { type: 'button', class: cls, 'aria-label': label,
      onclick: (e) => rowAction(e.currentTarget.closest('tr'), r, kind) }, text);
    return el('tr', { 'data-email': email },
      el('td', { class: 'email' }, email),
      el('td', { class: 'name' }, fullName(r.name)),
      el('td', { class: 'role' }, r.role || ''),
      status,
      el('td', { class: 'expires' }, when(r.access_expires_at, 'Never')),
      link,
      el('td', { class: 'last-sign-in' }, when(r.last_authenticated_at, 'Never')),
      el('td', { class: 'count' }, String(r.authentication_count || 0)),
      el('td', { class: 'actions' }, el('div', { class: 'buttons' },
        button('new-link', 'New link', `New link for ${email}, sent by email`, 'new-link'),
        button('copy-link', 'Copy new link', `Copy new link for ${email}`, 'copy-link'),
        button('deactivate', 'Deactivate link', `Deactivate link of ${email}`, 'deactivate'),
        button('revoke danger', 'Revoke', `Revoke ${email}`, 'revoke'))));
  }

  async function rowAction(row, reader, kind) {
    const email = reader.email;
    const path = `${API}/readers/${encodeURIComponent(email)}`;
    if (kind === 'revoke' && !window.confirm(`Revoke access for ${email}? Their links stop working at once.`)) return;
    const buttons = row ? [...row.querySelectorAll('button')] : [];
    buttons.forEach((b) => { b.disabled = true; });
    try {
      let data;
      let message;
      if (kind === 'new-link' || kind === 'copy-link') {
        const delivery = kind === 'new-link' ? 'email' : 'none';
        data = await api('POST', `${path}/links`, { delivery, reusable: !!reader.link_reusable });
        message = `A new link is on its way to ${email}.`;
        if (delivery === 'none' && data.magic_link_url) {
          const copied = await showLink(data.magic_link_url, email);
          message = `New link for ${email} ${copied ? 'copied to your clipboard.' : 'is below: copy it from there.'}`;
        }
      } else if (kind === 'deactivate') {
        data = await api('POST', `${path}/links/deactivate`);
        message = `The link of ${email} no longer works.`;
      } else {
        data = await api('DELETE', path);
        message = `Access revoked for ${email}.`;
      }
      say(message);
      replaceRow(row, data.reader, kind);
    } catch (error) {
      buttons.forEach((b) => { b.disabled = false; });
      fail(error);
    }
  }

  // Update the row in place from the returned reader (keeping keyboard focus on the same button);
  // reload the page when there is no reader in the answer or the row has gone meanwhile.
  function replaceRow(row, reader, kind) {
    if (!reader || !row || !row.isConnected) { loadReaders(); return; }
    const refocus = row.contains(document.activeElement) || document.activeElement === document.body;
    const fresh = readerRow(reader);
    row.replaceWith(fresh);
    if (refocus && document.activeElement !== $('copied-link')) {
      const same = fresh.querySelector(`button.${kind}`);
      if (same) same.focus();
    }
  }

  // ---- Access requests ---------------------------------------------------------------------------
  function buildRequests() {
    return el('section', { id: 'requests-section', class: 'card', 'aria-labelledby': 'requests-title' },
      el('h2', { id: 'requests-title', tabindex: -1 }, 'Access requests'),
      el('p', { class: 'hint' }, 'People who asked for access with the public form.'),
      el('ul', { id: 'requests', class: 'requests', 'aria-labelledby': 'requests-title' }));
  }

  async function loadRequests(focusIndex) {
    try {
      const data = await api('GET', `${API}/access_requests`);
      const list = $('requests');
      const requests = data.requests || [];
      list.replaceChildren(...(requests.length ? requests.map(requestItem) : [el('li', { class: 'empty' }, 'No pending requests.')]));
      if (focusIndex != null) {
        const items = list.querySelectorAll('li[data-email] button.grant');
        const target = items[Math.min(focusIndex, items.length - 1)] || $('requests-title');
        target.focus();
      }
    } catch (error) {
      fail(error);
    }
  }

  function requestItem(request) {
    const email = request.email;
    const count = Number(request.request_count || 1);
    const act = (cls, text, label) => el('button', { type: 'button', class: cls, 'aria-label': label,
      onclick: (e) => requestAction(e.currentTarget.closest('li'), email, cls) }, text);
    return el('li', { 'data-email': email },
      el('div', { class: 'who' }, el('span', { class: 'email' }, email),
        el('span', { class: 'hint' }, 'asked ', when(request.requested_at, 'recently'), count > 1 ? ` · ${count} times` : '')),
      el('div', { class: 'buttons' }, act('grant', 'Grant', `Grant ${email}`), act('dismiss', 'Dismiss', `Dismiss ${email}`)));
  }

  async function requestAction(item, email, kind) {
    const index = item ? [...item.parentNode.children].indexOf(item) : 0;
    const buttons = item ? [...item.querySelectorAll('button')] : [];
    buttons.forEach((b) => { b.disabled = true; });
    try {
      const data = await api('POST', `${API}/access_requests/${encodeURIComponent(email)}/${kind}`);
      if (data.magic_link_url) await showLink(data.magic_link_url, email); // only if the backend ever returns one
      say(kind === 'grant' ? `Access granted to ${email}.${data.magic_link_url ? ' Copy the link above.' : ' The invitation is on its way by email.'}`
        : `Request from ${email} dismissed.`);
      if (kind === 'grant') loadReaders();
      await loadRequests(index);
    } catch (error) {
      buttons.forEach((b) => { b.disabled = false; });
      fail(error);
    }
  }

  // ---- Start -------------------------------------------------------------------------------------
  function start() {
    const app = $('app');
    if (!app) return;
    app.replaceChildren(
      el('div', { id: 'status', class: 'status', role: 'status', 'aria-live': 'polite' }),
      el('div', { class: 'grid' }, buildGrantForm(), buildRequests()),
      buildReaders());
    if (restoreDraft()) say('Welcome back: the grant form is filled in as you left it.');
    loadReaders();
    loadRequests();
  }

  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start);
  else start();
})();
