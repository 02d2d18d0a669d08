/* Run in <head>, before the page is first drawn (not deferred; the CSP allows no inline
   script): the page is scripted, so a phone draws the menu and the folded filters closed from
   the start instead of after console.js has run (no layout shift). */
document.documentElement.classList.replace("no-js", "js");
