/* The console's small behaviours that htmx attributes do not cover: keyboard shortcuts, dialogs,
   copy buttons, the live board's clocks, the agents list's selection, and the addresses editor's
   rows. Requests (the board's polling and filters, the addresses check) are htmx attributes in
   the templates. Every page works without it (forms post normally); this makes them quicker. */
(function () {
  "use strict";

  document.documentElement.classList.replace("no-js", "js"); // done by head.js already, normally

  const isTyping = (el) =>
    el && (el.isContentEditable || ["INPUT", "TEXTAREA", "SELECT"].includes(el.tagName));

  // ---- keyboard shortcuts ------------------------------------------------------------------
  let pendingG = 0;
  document.addEventListener("keydown", (event) => {
    if (event.key === "Escape" && isTyping(document.activeElement)) {
      document.activeElement.blur();
      return;
    }
    if (event.ctrlKey || event.metaKey || event.altKey || isTyping(event.target)) return;
    if (document.querySelector("dialog[open]")) return;
    const key = event.key;
    if (pendingG && Date.now() - pendingG < 1200) {
      pendingG = 0;
      const link = document.querySelector(`[data-nav-key="${CSS.escape(key)}"]`);
      if (link) {
        event.preventDefault();
        window.location.href = link.href;
      }
      return;
    }
    if (key === "g") {
      pendingG = Date.now();
    } else if (key === "/") {
      const search = document.querySelector("[data-search]");
      if (search) {
        event.preventDefault();
        search.focus();
        search.select();
      }
    } else if (key === "?") {
      openDialog("shortcuts-dialog");
    } else if (key === "n") {
      const link = document.querySelector("[data-shortcut-new]") || document.querySelector('[data-nav-key="a"]');
      if (link && link.matches("[data-shortcut-new]")) window.location.href = link.href;
    } else if (key === "w") {
      const toggle = document.querySelector("[data-wall-toggle]");
      if (toggle) window.location.href = toggle.href;
    }
  });

  // ---- the top bar's menu on small screens (CSS shows the button and hides the nav) ----------
  const menuToggle = document.querySelector("[data-menu-toggle]");
  if (menuToggle) {
    const nav = document.getElementById(menuToggle.getAttribute("aria-controls"));
    const setOpen = (open) => {
      menuToggle.setAttribute("aria-expanded", String(open));
      nav.classList.toggle("is-open", open);
    };
    menuToggle.addEventListener("click", () => setOpen(menuToggle.getAttribute("aria-expanded") !== "true"));
    nav.addEventListener("keydown", (event) => {
      if (event.key === "Escape" && nav.classList.contains("is-open")) {
        setOpen(false);
        menuToggle.focus();
      }
    });
  }

  // ---- folded on a phone: the agents list's filters (the agents come first), an address
  // row's optional fields ------------------------------------------------------------------
  const onPhone = window.matchMedia("(max-width: 720px)");
  // Until this has run, the CSS keeps their contents hidden on a phone (no layout shift);
  // data-fold-done hands them over to the <details> element's own open and close.
  function foldOnPhone(root) {
    root.querySelectorAll("details[data-fold-on-phone]").forEach((details) => {
      if (onPhone.matches) details.open = false;
      details.dataset.foldDone = "";
    });
  }
  foldOnPhone(document);

  // ---- dialogs: links that have a confirmation page open it in place ------------------------
  function openDialog(id) {
    const dialog = document.getElementById(id);
    if (dialog && typeof dialog.showModal === "function" && !dialog.open) dialog.showModal();
    return Boolean(dialog);
  }
  document.addEventListener("click", (event) => {
    const opener = event.target.closest("[data-open-dialog]");
    if (opener && openDialog(opener.dataset.openDialog)) event.preventDefault();
  });

  // ---- copy buttons ------------------------------------------------------------------------
  document.addEventListener("click", async (event) => {
    const button = event.target.closest("[data-copy]");
    if (!button) return;
    const source = document.querySelector(button.dataset.copy);
    if (!source) return;
    const text = source.textContent.trim();
    let copied = false;
    try {
      await navigator.clipboard.writeText(text);
      copied = true;
    } catch (error) {
      const range = document.createRange();
      range.selectNodeContents(source);
      const selection = window.getSelection();
      selection.removeAllRanges();
      selection.addRange(range);
      copied = document.execCommand && document.execCommand("copy");
    }
    const label = button.textContent;
    button.textContent = copied ? "Copied" : "Press Ctrl+C";
    button.classList.add("copied");
    setTimeout(() => {
      button.textContent = label;
      button.classList.remove("copied");
    }, 1600);
  });

  // ---- live board --------------------------------------------------------------------------
  function formatDuration(ms) {
    let seconds = Math.max(0, Math.floor(ms / 1000));
    const days = Math.floor(seconds / 86400);
    seconds -= days * 86400;
    const hours = Math.floor(seconds / 3600);
    seconds -= hours * 3600;
    const minutes = Math.floor(seconds / 60);
    seconds -= minutes * 60;
    const pad = (n) => String(n).padStart(2, "0");
    if (days) return `${days}d ${hours}h`;
    if (hours) return `${hours}h ${pad(minutes)}m`;
    if (minutes) return `${minutes}m ${pad(seconds)}s`;
    return `${seconds}s`;
  }

  let serverOffset = 0; // server clock minus this browser's clock
  function syncClock(root) {
    const live = (root || document).querySelector("[data-now]");
    if (live) serverOffset = Number(live.dataset.now) - Date.now();
  }
  function tickClocks() {
    const now = Date.now() + serverOffset;
    document.querySelectorAll("[data-since]").forEach((el) => {
      const since = Number(el.dataset.since);
      if (since) el.textContent = formatDuration(now - since);
    });
  }

  // Always ticking: the event stream (live.js) may start a clock on any page.
  syncClock(document);
  setInterval(tickClocks, 1000);

  const board = document.querySelector("[data-board-poll]");
  if (board) {
    document.body.addEventListener("htmx:afterSwap", (event) => {
      if (event.detail.target === board) {
        syncClock(board);
        tickClocks();
      }
    });
    document.body.addEventListener("htmx:afterRequest", (event) => {
      if (event.detail.elt === board) {
        document.body.classList.toggle("board-stale", !event.detail.successful);
      }
    });
    // Filtering (hx-get on the form) leaves empty fields out of the address bar and the links.
    document.body.addEventListener("htmx:configRequest", (event) => {
      if (!event.detail.elt.matches("#board-filters")) return;
      Array.from(event.detail.formData.keys()).forEach((key) => {
        if (!event.detail.formData.get(key)) event.detail.formData.delete(key);
      });
    });
  }

  // ---- agents list: auto-submitting filters, selection, bulk bar ---------------------------
  document.querySelectorAll("form[data-autosubmit]").forEach((form) => {
    form.addEventListener("change", (event) => {
      if (event.target.tagName === "SELECT") form.requestSubmit();
    });
  });

  const bulkForm = document.querySelector("[data-bulk-form]");
  if (bulkForm) {
    const rows = () => Array.from(document.querySelectorAll("[data-select-row]"));
    const selectAll = document.querySelector("[data-select-all]");
    const counter = bulkForm.querySelector("[data-selected-count]");
    const action = bulkForm.querySelector("[data-bulk-action]");
    const update = () => {
      const checked = rows().filter((box) => box.checked).length;
      counter.textContent = String(checked);
      bulkForm.toggleAttribute("data-empty", checked === 0);
      if (selectAll) {
        selectAll.checked = checked > 0 && checked === rows().length;
        selectAll.indeterminate = checked > 0 && checked < rows().length;
      }
    };
    const showFields = () => {
      bulkForm.querySelectorAll("[data-bulk-for]").forEach((field) => {
        field.hidden = !field.dataset.bulkFor.split(" ").includes(action.value);
      });
    };
    if (selectAll) {
      selectAll.addEventListener("change", () => {
        rows().forEach((box) => (box.checked = selectAll.checked));
        update();
      });
    }
    document.addEventListener("change", (event) => {
      if (event.target.matches("[data-select-row]")) update();
    });
    action.addEventListener("change", showFields);
    const emptyNote = bulkForm.querySelector("[data-bulk-empty]");
    bulkForm.addEventListener("submit", (event) => {
      if (!rows().some((box) => box.checked)) {
        event.preventDefault(); // and say why nothing happened
        emptyNote.hidden = false;
        const first = rows()[0];
        if (first) first.focus();
      }
    });
    document.addEventListener("change", (event) => {
      if (event.target.matches("[data-select-row], [data-select-all]")) emptyNote.hidden = true;
    });
    showFields();
    update();
  }

  // ---- addresses editor --------------------------------------------------------------------
  document.querySelectorAll("[data-address-editor]").forEach((editor) => {
    const list = editor.querySelector("[data-address-rows]");
    const template = editor.querySelector("[data-address-template]");

    editor.querySelector("[data-address-add]").addEventListener("click", () => {
      const row = template.content.firstElementChild.cloneNode(true);
      foldOnPhone(row);
      list.appendChild(row);
      htmx.process(row); // its inline check
      row.querySelector("[data-address-target]").focus();
    });

    editor.addEventListener("click", (event) => {
      const row = event.target.closest("[data-address-row]");
      if (!row) return;
      if (event.target.closest("[data-row-remove]")) {
        const next = row.nextElementSibling || row.previousElementSibling;
        row.remove();
        if (next) next.querySelector("[data-address-target]").focus();
      } else if (event.target.closest("[data-row-up]") && row.previousElementSibling) {
        list.insertBefore(row, row.previousElementSibling);
        row.querySelector("[data-row-up]").focus();
      } else if (event.target.closest("[data-row-down]") && row.nextElementSibling) {
        list.insertBefore(row.nextElementSibling, row);
        row.querySelector("[data-row-down]").focus();
      }
    });
  });

  // The inline check (hx-post on each row) is about its own row: htmx would send the values of
  // the whole editor form, and the server reads one type and one target.
  document.body.addEventListener("htmx:configRequest", (event) => {
    const row = event.detail.elt.closest("[data-address-row]");
    if (!row) return;
    event.detail.parameters = {
      type: row.querySelector("[data-address-type]").value,
      target: row.querySelector("[data-address-target]").value,
    };
  });
  document.body.addEventListener("htmx:afterSwap", (event) => {
    const hint = event.detail.target;
    const row = hint.matches("[data-address-hint]") && hint.closest("[data-address-row]");
    if (!row) return;
    const bad = Boolean(hint.querySelector(".hint-error"));
    row.querySelector("[data-address-target]").setAttribute("aria-invalid", String(bad));
    row.classList.toggle("has-error", bad);
  });

  document.documentElement.dataset.console = "ready"; // everything above is wired up
})();
