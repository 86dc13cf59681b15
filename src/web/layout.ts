// The page shell shared by the customer area and the operator console: landmarks, skip link,
// one stylesheet and one script from /assets (the CSP allows nothing else).
import { html, type Html, type Piece } from './html.ts';
import type { Flash } from './sessions.ts';

export interface Shell {
  lang: string;
  title: string;
  area: 'portal' | 'console';
  brand: Piece;
  skip: string;
  /** Navigation (a <nav> with its label), or nothing. */
  nav?: Piece;
  /** Extra header content (sign-out form). */
  headerEnd?: Piece;
  flash?: Flash | null;
  footer?: Piece;
  body: Piece;
}

export function page(s: Shell): Html {
  return html`<!doctype html>
<html lang="${s.lang}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>${s.title}</title>
<link rel="stylesheet" href="/assets/web.css">
<script src="/assets/web.js" defer></script>
</head>
<body class="${s.area}">
<a class="skip" href="#main">${s.skip}</a>
<header class="top"><div class="top-inner">${s.brand}${s.nav ?? ''}${s.headerEnd ?? ''}</div></header>
<main id="main" tabindex="-1"><div class="wrap">
${s.flash ? flashBox(s.flash) : ''}${s.body}
</div></main>
${s.footer ? html`<footer class="foot">${s.footer}</footer>` : ''}
</body>
</html>`;
}

export function flashBox(f: Flash): Html {
  return html`<div id="flash" class="flash flash-${f.kind}" role="${f.kind === 'error' ? 'alert' : 'status'}" tabindex="-1"><p>${f.text}</p></div>`;
}

export function hidden(name: string, value: string): Html {
  return html`<input type="hidden" name="${name}" value="${value}">`;
}
