/// <reference types="@sveltejs/kit" />
/// <reference no-default-lib="true"/>
/// <reference lib="esnext" />
/// <reference lib="webworker" />
/**
 * The war room must open when the network does not: the app shell (built JS/CSS and static files)
 * is cached at install, and every page and page-data response the user has fetched is kept, so
 * reloading an open incident offline still shows it (and the timeline, from IndexedDB, still takes
 * entries). Pages go network-first: online, the user always sees fresh data; the cache is only the
 * fallback. Signing out (landing on /login) empties the page cache, so a shared terminal does not
 * keep someone else's incidents.
 */
import { build, files, version } from '$service-worker';

const sw = self as unknown as ServiceWorkerGlobalScope;
const SHELL = `shell-${version}`;
const PAGES = 'pages';
const SHELL_ASSETS = [...build, ...files];

sw.addEventListener('install', (event) => {
	event.waitUntil(
		caches
			.open(SHELL)
			.then((cache) => cache.addAll(SHELL_ASSETS))
			.then(() => sw.skipWaiting())
	);
});

sw.addEventListener('activate', (event) => {
	event.waitUntil(
		(async () => {
			for (const key of await caches.keys()) if (key !== SHELL && key !== PAGES) await caches.delete(key);
			await sw.clients.claim();
		})()
	);
});

function cacheablePage(url: URL, request: Request): boolean {
	if (url.origin !== sw.location.origin) return false;
	// Never the live streams, the API, the socket or anything that is not a plain GET.
	if (request.method !== 'GET' || url.pathname.startsWith('/api/') || url.pathname.startsWith('/collab/')) return false;
	return request.mode === 'navigate' || url.pathname.endsWith('/__data.json');
}

sw.addEventListener('fetch', (event) => {
	const request = event.request;
	const url = new URL(request.url);
	if (request.method !== 'GET' || url.origin !== sw.location.origin) return;

	if (SHELL_ASSETS.includes(url.pathname)) {
		event.respondWith(caches.match(url.pathname).then((hit) => hit ?? fetch(request)));
		return;
	}
	if (!cacheablePage(url, request)) return;

	event.respondWith(
		(async () => {
			const cache = await caches.open(PAGES);
			try {
				const response = await fetch(request);
				const landed = new URL(response.url || request.url);
				if (landed.pathname === '/login') {
					// Signed out or session ended: forget every cached page.
					await caches.delete(PAGES);
				} else if (response.ok && response.type === 'basic') {
					await cache.put(request, response.clone());
				}
				return response;
			} catch (error) {
				const hit = await cache.match(request);
				if (hit) return hit;
				throw error;
			}
		})()
	);
});
