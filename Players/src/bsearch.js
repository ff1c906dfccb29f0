/**
 * Binary search over sorted numeric arrays (plain or typed).
 * All functions are O(log n).
 */

/** Index of the first element > x (i.e. number of elements <= x). */
export function upperBound(arr, x, lo = 0, hi = arr.length) {
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (arr[mid] <= x) lo = mid + 1; else hi = mid;
  }
  return lo;
}

/** Index of the first element >= x. */
export function lowerBound(arr, x, lo = 0, hi = arr.length) {
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (arr[mid] < x) lo = mid + 1; else hi = mid;
  }
  return lo;
}

/** Largest element <= x, or -1. */
export function lastAtOrBefore(arr, x) {
  const i = upperBound(arr, x) - 1;
  return i >= 0 ? arr[i] : -1;
}

/** Largest element < x, or -1. */
export function lastBefore(arr, x) {
  const i = lowerBound(arr, x) - 1;
  return i >= 0 ? arr[i] : -1;
}

/** Smallest element > x, or -1. */
export function firstAfter(arr, x) {
  const i = upperBound(arr, x);
  return i < arr.length ? arr[i] : -1;
}
