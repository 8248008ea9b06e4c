// Saves text as a file in the browser, as file-saver (Grafana's own choice for downloads) does: a Blob URL on a
// detached anchor with `download`, clicked. Detached, the click never reaches Grafana's link interceptor, which
// would otherwise treat the blob: URL as a page to navigate to.
export function downloadText(text: string, fileName: string, type: string): void {
  const url = URL.createObjectURL(new Blob([text], { type }));
  const a = document.createElement('a');
  a.href = url;
  a.download = fileName;
  a.rel = 'noopener';
  a.dispatchEvent(new MouseEvent('click'));
  // Revoked after the browser has started reading it.
  setTimeout(() => URL.revokeObjectURL(url), 40_000);
}
