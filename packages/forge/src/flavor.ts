// Which forge answers at an API URL. Gitea (and its forks) serve the v1 REST
// API under <server>/api/v1 and act_runner sets GITHUB_API_URL to exactly
// that; GitHub serves https://api.github.com or <ghes>/api/v3. The two differ
// in paging parameter names and in the permission a 403 points at.

export const FORGE_FLAVORS = ['gitea', 'github'] as const;
export type ForgeFlavor = (typeof FORGE_FLAVORS)[number];

export function detectFlavor(apiUrl: string): ForgeFlavor {
  let path: string;
  try {
    path = new URL(apiUrl).pathname;
  } catch {
    return 'github';
  }
  return /\/api\/v1\/?$/.test(path) ? 'gitea' : 'github';
}
