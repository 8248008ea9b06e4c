import { downloadText } from './downloadText';

describe('downloadText', () => {
  it('clicks a detached link to a Blob of the text, named as asked, detached so Grafana’s link interceptor never sees the click', async () => {
    const blobs: Blob[] = [];
    URL.createObjectURL = jest.fn((b: Blob) => {
      blobs.push(b);
      return 'blob:http://grafana.test/1';
    });
    URL.revokeObjectURL = jest.fn();
    const clicks: HTMLAnchorElement[] = [];
    const spy = jest.spyOn(HTMLAnchorElement.prototype, 'dispatchEvent').mockImplementation(function (
      this: HTMLAnchorElement,
      e: Event
    ) {
      if (e.type === 'click') {
        clicks.push(this);
      }
      return true;
    });
    jest.useFakeTimers();
    try {
      downloadText('---\nkind: NetworkPolicy\n', 'flowlens-policies-shop.yaml', 'application/yaml');
      expect(clicks).toHaveLength(1);
      expect(clicks[0]!.download).toBe('flowlens-policies-shop.yaml');
      expect(clicks[0]!.href).toBe('blob:http://grafana.test/1');
      expect(clicks[0]!.isConnected).toBe(false);
      expect(blobs[0]!.type).toBe('application/yaml');
      expect(blobs[0]!.size).toBe('---\nkind: NetworkPolicy\n'.length);
      expect(URL.revokeObjectURL).not.toHaveBeenCalled();
      jest.runAllTimers();
      expect(URL.revokeObjectURL).toHaveBeenCalledWith('blob:http://grafana.test/1');
    } finally {
      jest.useRealTimers();
      spy.mockRestore();
    }
  });
});
