// A stand-in for getBackendSrv().fetch in unit tests: records requests, answers from a handler.
import { Observable } from 'rxjs';
import type { BackendSrvRequest, FetchResponse } from '@grafana/runtime';
import type { Fetch } from '../datasource/hubClient';

export interface Answer {
  status: number;
  data: unknown;
}

export function fakeFetch(handler: (req: BackendSrvRequest) => Answer | Promise<Answer>) {
  const requests: BackendSrvRequest[] = [];
  const fetch: Fetch = <T>(req: BackendSrvRequest) =>
    new Observable<FetchResponse<T>>((sub) => {
      requests.push(req);
      Promise.resolve(handler(req)).then(
        (a) => {
          if (a.status >= 200 && a.status < 300) {
            sub.next({ data: a.data as T, status: a.status, ok: true, config: req } as unknown as FetchResponse<T>);
            sub.complete();
          } else {
            sub.error({ status: a.status, statusText: 'error', data: a.data, config: req });
          }
        },
        (err: unknown) => sub.error(err)
      );
    });
  return { fetch, requests };
}
