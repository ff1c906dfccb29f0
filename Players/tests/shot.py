"""Dev helper: screenshot a URL of a running fake server and dump console logs."""
import shutil, sys, time, json
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
o = webdriver.ChromeOptions()
for a in ("--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=1400,860"):
    o.add_argument(a)
o.set_capability("goog:loggingPrefs", {"browser": "ALL"})
d = webdriver.Chrome(service=Service(executable_path=shutil.which("chromedriver")), options=o)
try:
    for i in range(1, len(sys.argv), 2):
        url, out = sys.argv[i], sys.argv[i + 1]
        if url.startswith("js:"):
            d.execute_script(url[3:]); time.sleep(0.5)
        else:
            d.get(url); time.sleep(1.2)
        d.save_screenshot(out)
        for l in d.get_log("browser"):
            print(l["level"], l["message"][:300])
finally:
    d.quit()
