"""Scrapy settings for coprod.

Values that come from the study file (depth, delays, concurrency, user agent, database,
sources, lexicon) are set from `seeds.yaml` by `crawler.core.study.apply_study` when the spider
is created; this module holds only what is the same for every study.
"""

BOT_NAME = "coprod"
SPIDER_MODULES = ["spiders"]
NEWSPIDER_MODULE = "spiders"

ROBOTSTXT_OBEY = True
AUTOTHROTTLE_ENABLED = True
COOKIES_ENABLED = False
TELNETCONSOLE_ENABLED = False
REQUEST_FINGERPRINTER_CLASS = "crawler.fingerprint.CanonicalFingerprinter"
RETRY_HTTP_CODES = [500, 502, 503, 504, 522, 524, 408, 429]
# A page that fails for good is recorded with its reason (http_500...), not a crawler error.
RETRY_GIVE_UP_LOG_LEVEL = "INFO"
LOG_LEVEL = "INFO"

DOWNLOADER_MIDDLEWARES = {
    "scrapy.downloadermiddlewares.retry.RetryMiddleware": None,
    "crawler.middlewares.BackoffRetryMiddleware": 550,
    # Scrapy's own, with a reason for each response they give up on (crawler.core.reasons).
    "scrapy.downloadermiddlewares.redirect.MetaRefreshMiddleware": None,
    "crawler.middlewares.GuardedMetaRefreshMiddleware": 580,
    "scrapy.downloadermiddlewares.httpcompression.HttpCompressionMiddleware": None,
    "crawler.middlewares.CompressionMiddleware": 590,
    "scrapy.downloadermiddlewares.redirect.RedirectMiddleware": None,
    "crawler.middlewares.GuardedRedirectMiddleware": 600,
    "crawler.middlewares.ProxyMiddleware": 740,
    # Next to the downloader: the capture sees responses as they came; a 304 is answered
    # from the capture before anything else sees it.
    "crawler.capture.CaptureMiddleware": 950,
    "crawler.conditional.ConditionalRequestMiddleware": 960,
}
ITEM_PIPELINES = {
    # extract -> mask cards -> language -> relevance -> discover, the chain import and
    # evaluate run too; then the store, which records dropped pages with their reasons.
    "pipelines.chain.ChainPipeline": 100,
    "pipelines.store.StorePipeline": 900,
}
EXTENSIONS = {
    "crawler.extensions.RunRecorder": 500,
    "crawler.extensions.Progress": 510,
}

COPROD_STORE_BATCH_SIZE = 100
COPROD_STORE_FLUSH_SECONDS = 2.0  # a batch is committed at least this often
COPROD_PROGRESS_INTERVAL = 0
COPROD_CAPTURE_ENABLED = True
COPROD_CAPTURE_MAX_BYTES = 100_000_000  # a new WARC file once one reaches this size
COPROD_CONDITIONAL_REQUESTS = True
COPROD_CAPTURE_COMPRESSION_LEVEL = 6  # gzip level of the WARC records, 1-9 (warcio's own 9 is hardly smaller, 40% slower)
# A chain worker process is replaced after this many pages (0: never), which bounds its caches.
COPROD_WORKER_MAX_PAGES = 2000
