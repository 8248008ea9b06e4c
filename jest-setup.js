// Jest setup provided by Grafana scaffolding
import './.config/jest-setup';

// @grafana/scenes' LazyLoader creates an IntersectionObserver at import time; jsdom has none.
// This stand-in never reports an intersection: scene tests inspect state, they do not lay panels out.
if (typeof global.IntersectionObserver === 'undefined') {
  global.IntersectionObserver = class IntersectionObserver {
    observe() {}
    unobserve() {}
    disconnect() {}
    takeRecords() {
      return [];
    }
  };
}
