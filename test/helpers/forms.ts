// The pages' forms as a browser without JavaScript sends them: GET and POST (url-encoded) with the
// session cookie, redirects not followed (the 303 is what a test reads), the cookie and the CSRF
// token read from the answers; and the operator's sign-in to the console with an admin key.
export function formClient(base: () => string) {
  const get = (path: string, cookie?: string) => fetch(base() + path, { redirect: 'manual', headers: cookie ? { cookie } : {} });
  const post = (path: string, form: Record<string, string>, cookie?: string) =>
    fetch(base() + path, {
      method: 'POST',
      redirect: 'manual',
      headers: { 'content-type': 'application/x-www-form-urlencoded', ...(cookie ? { cookie } : {}) },
      body: new URLSearchParams(form).toString(),
    });
  const cookieOf = (res: Response) => res.headers.getSetCookie().map((c) => c.split(';')[0]).join('; ');
  const csrfOf = async (res: Response) => /name="_csrf" value="([^"]+)"/.exec(await res.text())?.[1] ?? '';
  /** Signs in to the console; answers the session cookie (and the answer, to check it was a 303). */
  async function signIn(key: string): Promise<{ cookie: string; status: number }> {
    const form = await get('/console/login');
    const ok = await post('/console/login', { key, _csrf: await csrfOf(form) }, cookieOf(form));
    return { cookie: cookieOf(ok), status: ok.status };
  }
  return { get, post, cookieOf, csrfOf, signIn };
}
