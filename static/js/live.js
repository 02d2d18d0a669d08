/* Live updates over the event stream (contract section 11, /v1.0/ws; README, "Event stream").
   A page that shows agents (the board, the agents list, an agent's page, one's own page) names
   on <body> the topic it follows and the event it already shows (agents.views.common.
   live_updates). This script subscribes with the console's session, resumes with `since` after a
   drop, and applies each event where the page shows that agent:
   - everywhere: its status pills and "in status" times;
   - on the board: its tile moves to its status group, and the counts and the tag coverage
     follow. What the board cannot work out by itself (an agent created, deleted or changed
     otherwise, one that now matches a status filter, `resync_required`) fetches the board's
     live part once, as a poll does.
   While the stream is down the board says "Reconnecting" and polls every second, as it did
   before the stream; keyboard focus stays where it was through every update. */
(function () {
  "use strict";

  const body = document.body;
  const topic = body.dataset.streamTopic;
  if (!topic || !("WebSocket" in window)) return;

  let since = body.dataset.streamSince || "0";
  let attempts = 0;
  let pollTimer = null;
  const board = document.querySelector("[data-board-poll]");

  // ---- the connection -----------------------------------------------------------------------
  const STATE_TEXT = { live: "Live", reconnecting: "Reconnecting…" };
  function setState(state) {
    body.dataset.stream = state;
    document.querySelectorAll("[data-stream-state]").forEach((el) => (el.textContent = STATE_TEXT[state]));
  }

  function connect() {
    const scheme = location.protocol === "https:" ? "wss://" : "ws://";
    const socket = new WebSocket(scheme + location.host + body.dataset.streamPath);
    socket.addEventListener("open", () => {
      socket.send(JSON.stringify({ type: "subscribe", topics: [topic], since: since }));
      attempts = 0;
      setState("live");
      stopPolling();
    });
    socket.addEventListener("message", (message) => {
      const frame = JSON.parse(message.data);
      if (frame.type === "resync_required") {
        resync();
        return;
      }
      if (frame.event_id && Number(frame.event_id) > Number(since)) since = frame.event_id;
      applyEverywhere(frame);
      if (board) {
        if (frame.type === "agent_status_updated") recent.set(frame.data.id, frame);
        applyToBoard(frame);
      }
    });
    socket.addEventListener("close", () => {
      setState("reconnecting");
      startPolling();
      // 1 s, 2 s, 4 s ... up to 30 s, spread so that many pages do not come back at once.
      const delay = Math.min(30000, 1000 * 2 ** attempts++) * (0.5 + Math.random() / 2);
      setTimeout(connect, delay);
    });
  }

  function resync() {
    if (board) {
      refreshBoard();
    } else if (!document.activeElement || !document.activeElement.closest("form")) {
      location.reload(); // too much was missed: the page as it is now (unless a form is in use)
    }
  }

  // ---- every page: pills and times ----------------------------------------------------------
  function applyEverywhere(frame) {
    const agent = frame.data;
    if (!agent || !agent.id || frame.type === "agent_deleted") return;
    document.querySelectorAll(`[data-live-status="${CSS.escape(agent.id)}"]`).forEach((pill) => {
      pill.className = pill.className.replace(/\bstatus-\w+/, `status-${agent.status}`);
      pill.lastChild.textContent = agent.status;
    });
    if (frame.type !== "agent_status_updated") return;
    document.querySelectorAll(`[data-live-since="${CSS.escape(agent.id)}"]`).forEach((el) => {
      el.dataset.since = String(Date.parse(agent.tm_update)); // console.js's clocks tick it
      el.textContent = "0s";
    });
  }

  // ---- the board ----------------------------------------------------------------------------
  function live() {
    return board.querySelector(".board-live");
  }

  // The newest status event of each agent, to apply again after a fetch of the board's live
  // part rendered before it (its own `since` tells): the newest state of an agent is the truth.
  const recent = new Map();

  let refreshQueued = false;
  function refreshBoard() {
    // At most one fetch in flight and one queued: a burst of events costs one request.
    if (refreshQueued) return;
    refreshQueued = true;
    setTimeout(() => {
      refreshQueued = false;
      htmx.trigger(board, "board-poll");
    }, 250);
  }

  function startPolling() {
    if (board && !pollTimer) pollTimer = setInterval(() => htmx.trigger(board, "board-poll"), 1000);
  }
  function stopPolling() {
    clearInterval(pollTimer);
    pollTimer = null;
  }

  // The agents the board shows no tile for, by id, with their status: `unshown` match the
  // filters but are past their group's first tiles (the group's data-more counts them),
  // `outside` do not match the filters. Their events still move the counts and the coverage.
  function hiddenAgents() {
    const root = live();
    if (!root._hidden) {
      const data = document.getElementById("board-statuses");
      root._hidden = data ? JSON.parse(data.textContent) : { unshown: {}, outside: {} };
    }
    return root._hidden;
  }

  function addToMore(status, delta) {
    const group = live().querySelector(`[data-group="${status}"]`);
    if (group) group.dataset.more = String(Number(group.dataset.more || 0) + delta);
  }

  function addToCount(status, delta) {
    const count = live().querySelector(`[data-status-count="${status}"] .count-n`);
    if (count) count.textContent = String(Number(count.textContent) + delta);
  }

  function addToCoverage(tagIds, delta) {
    tagIds.forEach((tagId) => {
      const tag = live().querySelector(`[data-tag-id="${CSS.escape(tagId)}"]`);
      if (!tag) return;
      const available = Number(tag.dataset.available) + delta;
      tag.dataset.available = String(available);
      tag.querySelector(".coverage-n b").textContent = String(available);
      tag.title = `${available} of ${tag.dataset.total} agents with this tag are available`;
      tag.classList.toggle("is-uncovered", available === 0);
    });
    const badge = live().querySelector("[data-uncovered-badge]");
    if (badge) {
      const uncovered = live().querySelectorAll(".coverage-tag.is-uncovered").length;
      badge.textContent = `${uncovered} with nobody available`;
      badge.hidden = uncovered === 0;
    }
  }

  function updateGroups() {
    let total = 0;
    live().querySelectorAll("[data-group]").forEach((group) => {
      const more = Number(group.dataset.more || 0);
      const n = group.querySelectorAll(".tile").length + more;
      total += n;
      group.querySelector(".group-n").textContent = String(n);
      group.hidden = n === 0;
      const note = group.querySelector(".group-more");
      if (note) {
        note.hidden = more === 0;
        note.querySelector("[data-more-n]").textContent = String(more);
      }
    });
    const shown = live().querySelector("[data-shown-count]");
    if (shown) shown.textContent = String(total);
  }

  function placeTile(tile, status) {
    const list = live().querySelector(`[data-group="${status}"] .tiles`);
    const key = (el) => [el.dataset.name, el.dataset.agent];
    const before = Array.from(list.children).find((other) => {
      const [a, b] = [key(other), key(tile)];
      return a[0] > b[0] || (a[0] === b[0] && a[1] > b[1]);
    });
    const focused = tile.contains(document.activeElement) ? document.activeElement : null;
    list.insertBefore(tile, before || null);
    if (focused) focused.focus({ preventScroll: true }); // moving a node blurs it
  }

  function applyToBoard(frame) {
    const agent = frame.data;
    if (!live() || !agent || !agent.id) return;
    if (frame.type !== "agent_status_updated") {
      refreshBoard(); // new, deleted, renamed or retagged: the server renders it
      return;
    }
    const tile = live().querySelector(`.tile[data-agent-id="${CSS.escape(agent.id)}"]`);
    const hidden = hiddenAgents();
    const unshown = hidden.unshown[agent.id];
    const old = tile ? tile.dataset.status : unshown || hidden.outside[agent.id];
    if (!old) {
      refreshBoard(); // an agent this page has not seen
      return;
    }
    if (old === agent.status) return;
    addToCount(old, -1);
    addToCount(agent.status, +1);
    if (old === "available") addToCoverage(agent.tag_ids, -1);
    if (agent.status === "available") addToCoverage(agent.tag_ids, +1);

    const statusFilter = live().dataset.statusFilter;
    const leaves = statusFilter && agent.status !== statusFilter;
    if (tile && leaves) {
      const focused = tile.contains(document.activeElement);
      tile.remove();
      hidden.outside[agent.id] = agent.status;
      if (focused) (live().querySelector(".tile a") || document.getElementById("board-filters")).focus();
    } else if (unshown) {
      // No tile: its group's count moves, or it leaves the status filter.
      addToMore(old, -1);
      delete hidden.unshown[agent.id];
      if (leaves) hidden.outside[agent.id] = agent.status;
      else {
        hidden.unshown[agent.id] = agent.status;
        addToMore(agent.status, +1);
      }
    } else if (tile) {
      tile.className = tile.className.replace(/\bstatus-\w+/, `status-${agent.status}`);
      tile.dataset.status = agent.status;
      const since = tile.querySelector("[data-since]");
      since.dataset.since = String(Date.parse(agent.tm_update));
      since.textContent = "0s";
      placeTile(tile, agent.status);
    } else {
      hidden.outside[agent.id] = agent.status;
      if (statusFilter === agent.status) refreshBoard(); // it may match the other filters now: the server decides
    }
    updateGroups();
  }

  if (board) {
    // After a fetch of the board's live part: the events it already shows are not replayed,
    // and the focused tile or count keeps the focus.
    let refocus = null;
    document.body.addEventListener("htmx:beforeSwap", (event) => {
      if (event.detail.target !== board) return;
      const active = document.activeElement;
      const tile = active && active.closest(".tile");
      const count = active && active.closest("[data-status-count]");
      if (tile) refocus = `.tile[data-agent-id="${tile.dataset.agentId}"] .tile-name`;
      else if (count) refocus = `[data-status-count="${count.dataset.statusCount}"]`;
      else refocus = null;
    });
    document.body.addEventListener("htmx:afterSwap", (event) => {
      if (event.detail.target !== board) return;
      const rendered = Number((live() && live().dataset.streamSince) || 0);
      recent.forEach((frame, agentId) => {
        if (Number(frame.event_id) > rendered) applyToBoard(frame);
        else recent.delete(agentId);
      });
      const target = refocus && board.querySelector(refocus);
      if (target) target.focus({ preventScroll: true });
      refocus = null;
    });
  }

  connect();
})();
