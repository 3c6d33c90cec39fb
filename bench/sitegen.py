"""A synthetic regional news site for the crawl benchmark (`bench/crawl.py`).

Invented text only (words and names put together by a seeded generator; nothing copied
from a real site): `articles` article pages of about 52 KB in Ukrainian, Russian and English,
with the furniture of a real news site (head scripts and styles, JSON-LD, a top bar with
language switch and social links, a main menu with sub-menus, a news ticker, breadcrumbs,
share buttons, tags, "read also" inside the text, popular and latest sidebars, related
stories, a comment form, a footer with a monthly archive), about 120 links a page;
section listings and an all-news listing paginated 20 to a page (window, tens and hundreds,
first and last, as news CMSs do), a monthly and daily archive, tag and author pages. A
share of the stories are volunteer initiatives of the Dnipropetrovsk region with their
Telegram channel and monobank jar links.

Every page is a static file (`<path>/index.html` or `<id>-<slug>.html`), so any web server
serves it. Each article is generated from its own seed: the site of N articles is the same
whatever else is generated.
"""

from __future__ import annotations

import datetime as dt
import json
import random
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Site", "generate"]

PAGE_BYTES = 52_000  # an article page, furniture included
TEXT_CHARS = 8_000  # its main text, about that of a long regional news story
PER_PAGE = 20
START = dt.date(2022, 1, 1)
DAYS = 730

SECTIONS = [
    # slug, uk, ru, en
    ("misto", "Місто", "Город", "City"),
    ("oblast", "Область", "Область", "Region"),
    ("volontery", "Волонтери", "Волонтеры", "Volunteers"),
    ("suspilstvo", "Суспільство", "Общество", "Society"),
    ("ekonomika", "Економіка", "Экономика", "Economy"),
    ("polityka", "Політика", "Политика", "Politics"),
    ("viina", "Війна", "Война", "War"),
    ("kultura", "Культура", "Культура", "Culture"),
    ("sport", "Спорт", "Спорт", "Sport"),
    ("zdorovia", "Здоров'я", "Здоровье", "Health"),
    ("osvita", "Освіта", "Образование", "Education"),
    ("kryminal", "Кримінал", "Криминал", "Crime"),
]
LANG_SHARE = (("uk", 0.55), ("ru", 0.30), ("en", 0.15))
VOLUNTEER_SHARE = 0.2

UI = {
    "uk": {
        "site": "Вісті Придніпров'я", "home": "Головна", "news": "Усі новини", "read_also": "Читайте також",
        "popular": "Популярне", "latest": "Останні новини", "related": "Схожі матеріали", "tags": "Теги",
        "share": "Поділитися", "comments": "Коментарі", "send": "Надіслати", "archive": "Архів",
        "about": "Про нас", "contacts": "Контакти", "ads": "Реклама", "privacy": "Політика конфіденційності",
        "rules": "Правила користування", "authors": "Автори", "subscribe": "Підписуйтесь на наш Telegram",
        "search": "Пошук", "author": "Автор", "views": "переглядів", "next": "Наступна", "prev": "Попередня",
        "first": "Перша", "last": "Остання", "page": "Сторінка", "weather": "Дніпро +12°",
        "rights": "Усі права захищено. Передрук матеріалів лише з посиланням на джерело.",
        "months": ["січень", "лютий", "березень", "квітень", "травень", "червень", "липень", "серпень", "вересень", "жовтень", "листопад", "грудень"],
    },
    "ru": {
        "site": "Вести Приднепровья", "home": "Главная", "news": "Все новости", "read_also": "Читайте также",
        "popular": "Популярное", "latest": "Последние новости", "related": "Похожие материалы", "tags": "Теги",
        "share": "Поделиться", "comments": "Комментарии", "send": "Отправить", "archive": "Архив",
        "about": "О нас", "contacts": "Контакты", "ads": "Реклама", "privacy": "Политика конфиденциальности",
        "rules": "Правила пользования", "authors": "Авторы", "subscribe": "Подписывайтесь на наш Telegram",
        "search": "Поиск", "author": "Автор", "views": "просмотров", "next": "Следующая", "prev": "Предыдущая",
        "first": "Первая", "last": "Последняя", "page": "Страница", "weather": "Днепр +12°",
        "rights": "Все права защищены. Перепечатка материалов только со ссылкой на источник.",
        "months": ["январь", "февраль", "март", "апрель", "май", "июнь", "июль", "август", "сентябрь", "октябрь", "ноябрь", "декабрь"],
    },
    "en": {
        "site": "Dnipro Region News", "home": "Home", "news": "All news", "read_also": "Read also",
        "popular": "Popular", "latest": "Latest news", "related": "Related stories", "tags": "Tags",
        "share": "Share", "comments": "Comments", "send": "Send", "archive": "Archive",
        "about": "About us", "contacts": "Contacts", "ads": "Advertising", "privacy": "Privacy policy",
        "rules": "Terms of use", "authors": "Authors", "subscribe": "Follow us on Telegram",
        "search": "Search", "author": "Author", "views": "views", "next": "Next", "prev": "Previous",
        "first": "First", "last": "Last", "page": "Page", "weather": "Dnipro +12°",
        "rights": "All rights reserved. Reprints only with a link to the source.",
        "months": ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"],
    },
}

# Words of each language the sentences are built from: subjects, verbs, objects, places,
# times and joiners, in several inflected forms, so that a page has the vocabulary of news.
WORDS = {
    "uk": {
        "subj": ["міська рада", "депутати", "мешканці району", "комунальники", "лікарі міської лікарні", "вчителі",
                 "підприємці", "поліцейські", "рятувальники", "голова громади", "працівники підприємства",
                 "студенти університету", "батьки учнів", "пенсіонери", "водії маршруток", "фермери",
                 "спортсмени", "митці", "журналісти", "експерти", "енергетики", "будівельники"],
        "verb": ["обговорили", "затвердили", "відремонтували", "представили", "відкрили", "перевірили",
                 "отримали", "запланували", "розповіли про", "оголосили", "провели", "закупили",
                 "встановили", "підготували", "оцінили", "підтримали", "відновили", "показали"],
        "obj": ["новий бюджет", "ремонт дороги", "план забудови", "тарифи на воду", "графік руху транспорту",
                "проєкт реконструкції парку", "програму розвитку", "нове обладнання", "зупинку громадського транспорту",
                "систему опалення", "міський стадіон", "шкільну їдальню", "дитячий майданчик", "центр надання послуг",
                "мережу освітлення", "виставку картин", "футбольний турнір", "концерт на набережній",
                "ціни на продукти", "кредитну програму", "зарплати медиків", "нові правила паркування"],
        "place": ["у Дніпрі", "у Кривому Розі", "в Кам'янському", "у Нікополі", "у Павлограді", "у Новомосковську",
                  "в Марганці", "у Жовтих Водах", "у Покрові", "в Синельниковому", "у Підгородному", "у П'ятихатках",
                  "на лівому березі", "у центрі міста", "на житловому масиві", "в області"],
        "time": ["минулого тижня", "у понеділок", "у вівторок", "в середу", "у четвер", "у п'ятницю", "на вихідних",
                 "цього місяця", "до кінця року", "найближчим часом", "вранці", "ввечері", "наступної весни"],
        "join": ["Крім того,", "Водночас", "Як зазначили в мерії,", "За словами експертів,", "Нагадаємо,",
                 "Як повідомляє пресслужба,", "Окрім цього,", "Тим часом", "Також", "Зокрема,", "Втім,"],
        "tail": ["це питання обговорюють уже кілька місяців", "рішення ухвалили більшістю голосів",
                 "роботи фінансують з міського бюджету", "мешканці висловили свої побажання",
                 "контроль за виконанням покладено на профільний департамент", "вартість робіт становить кілька мільйонів гривень",
                 "результати оприлюднять на сайті", "перші зміни помітять уже восени",
                 "це дозволить зекономити кошти", "проєкт розрахований на три роки"],
        "vsubj": ["Волонтери", "Небайдужі мешканці", "Активісти громади", "Волонтерська група", "Благодійний фонд",
                  "Наша команда", "Сусіди з ОСББ", "Студенти-волонтери", "Місцеві підприємці разом з волонтерами"],
        "vverb": ["збирають кошти на", "організували збір на", "закупили та передали", "доставили",
                  "облаштували", "відкрили пункт видачі, де роздають", "допомагають з", "шиють і передають"],
        "vobj": ["дрони для захисників", "генератори для укриттів", "продуктові набори для переселенців",
                 "ліки для літніх людей", "маскувальні сітки", "окопні свічки", "теплі речі для евакуйованих",
                 "гарячі обіди для переселенців", "автомобіль для підрозділу", "аптечки для військових"],
        "vcall": ["Долучайтеся до збору!", "Кожна гривня важлива.", "Пишіть нам у телеграм-канал.",
                  "Потрібні волонтери з автомобілем.", "Приносьте речі до пункту збору.", "Дякуємо всім, хто допомагає!"],
        "first": ["Олена", "Ірина", "Оксана", "Наталія", "Тетяна", "Андрій", "Олександр", "Сергій", "Дмитро", "Віктор", "Юлія", "Максим"],
        "syll": ["кова", "лен", "бон", "дар", "мель", "шев", "ткач", "гон", "пет", "рущ", "сав", "лис", "мор", "гриц", "дуб"],
        "suffix": ["енко", "чук", "ук", "ич", "ський", "ець", "ак"],
    },
    "ru": {
        "subj": ["городской совет", "депутаты", "жители района", "коммунальщики", "врачи городской больницы", "учителя",
                 "предприниматели", "полицейские", "спасатели", "глава громады", "работники предприятия",
                 "студенты университета", "родители учеников", "пенсионеры", "водители маршруток", "фермеры",
                 "спортсмены", "художники", "журналисты", "эксперты", "энергетики", "строители"],
        "verb": ["обсудили", "утвердили", "отремонтировали", "представили", "открыли", "проверили",
                 "получили", "запланировали", "рассказали о", "объявили", "провели", "закупили",
                 "установили", "подготовили", "оценили", "поддержали", "восстановили", "показали"],
        "obj": ["новый бюджет", "ремонт дороги", "план застройки", "тарифы на воду", "график движения транспорта",
                "проект реконструкции парка", "программу развития", "новое оборудование", "остановку общественного транспорта",
                "систему отопления", "городской стадион", "школьную столовую", "детскую площадку", "центр предоставления услуг",
                "сеть освещения", "выставку картин", "футбольный турнир", "концерт на набережной",
                "цены на продукты", "кредитную программу", "зарплаты медиков", "новые правила парковки"],
        "place": ["в Днепре", "в Кривом Роге", "в Каменском", "в Никополе", "в Павлограде", "в Новомосковске",
                  "в Марганце", "в Желтых Водах", "в Покрове", "в Синельниково", "в Подгородном", "в Пятихатках",
                  "на левом берегу", "в центре города", "на жилом массиве", "в области"],
        "time": ["на прошлой неделе", "в понедельник", "во вторник", "в среду", "в четверг", "в пятницу", "на выходных",
                 "в этом месяце", "до конца года", "в ближайшее время", "утром", "вечером", "следующей весной"],
        "join": ["Кроме того,", "В то же время", "Как отметили в мэрии,", "По словам экспертов,", "Напомним,",
                 "Как сообщает пресс-служба,", "Помимо этого,", "Тем временем", "Также", "В частности,", "Впрочем,"],
        "tail": ["этот вопрос обсуждают уже несколько месяцев", "решение приняли большинством голосов",
                 "работы финансируют из городского бюджета", "жители высказали свои пожелания",
                 "контроль за выполнением возложен на профильный департамент", "стоимость работ составляет несколько миллионов гривен",
                 "результаты опубликуют на сайте", "первые изменения заметят уже осенью",
                 "это позволит сэкономить средства", "проект рассчитан на три года"],
        "vsubj": ["Волонтеры", "Неравнодушные жители", "Активисты громады", "Волонтерская группа", "Благотворительный фонд",
                  "Наша команда", "Соседи из ОСМД", "Студенты-волонтеры", "Местные предприниматели вместе с волонтерами"],
        "vverb": ["собирают средства на", "организовали сбор на", "закупили и передали", "доставили",
                  "обустроили", "открыли пункт выдачи, где раздают", "помогают с", "шьют и передают"],
        "vobj": ["дроны для защитников", "генераторы для укрытий", "продуктовые наборы для переселенцев",
                 "лекарства для пожилых людей", "маскировочные сети", "окопные свечи", "теплые вещи для эвакуированных",
                 "горячие обеды для переселенцев", "автомобиль для подразделения", "аптечки для военных"],
        "vcall": ["Присоединяйтесь к сбору!", "Каждая гривна важна.", "Пишите нам в телеграм-канал.",
                  "Нужны волонтеры с автомобилем.", "Приносите вещи в пункт сбора.", "Спасибо всем, кто помогает!"],
        "first": ["Елена", "Ирина", "Оксана", "Наталья", "Татьяна", "Андрей", "Александр", "Сергей", "Дмитрий", "Виктор", "Юлия", "Максим"],
        "syll": ["кова", "лен", "бон", "дар", "мель", "шев", "ткач", "гон", "пет", "рыж", "сав", "лис", "мор", "гриц", "дуб"],
        "suffix": ["енко", "чук", "ов", "ич", "ский", "ин", "ак"],
    },
    "en": {
        "subj": ["the city council", "deputies", "local residents", "utility workers", "doctors of the city hospital", "teachers",
                 "entrepreneurs", "police officers", "rescuers", "the head of the community", "factory workers",
                 "university students", "parents of pupils", "pensioners", "minibus drivers", "farmers",
                 "athletes", "artists", "journalists", "experts", "power engineers", "builders"],
        "verb": ["discussed", "approved", "repaired", "presented", "opened", "inspected", "received", "planned",
                 "spoke about", "announced", "held", "purchased", "installed", "prepared", "assessed", "supported",
                 "restored", "showed"],
        "obj": ["a new budget", "the road repairs", "a development plan", "water tariffs", "the transport timetable",
                "the park reconstruction project", "a development programme", "new equipment", "a public transport stop",
                "the heating system", "the city stadium", "a school canteen", "a playground", "a service centre",
                "the street lighting network", "an exhibition of paintings", "a football tournament", "a concert on the embankment",
                "food prices", "a loan programme", "doctors' salaries", "new parking rules"],
        "place": ["in Dnipro", "in Kryvyi Rih", "in Kamianske", "in Nikopol", "in Pavlohrad", "in Novomoskovsk",
                  "in Marhanets", "in Zhovti Vody", "in Pokrov", "in Synelnykove", "in Pidhorodne", "in Piatykhatky",
                  "on the left bank", "in the city centre", "in a residential district", "in the region"],
        "time": ["last week", "on Monday", "on Tuesday", "on Wednesday", "on Thursday", "on Friday", "at the weekend",
                 "this month", "by the end of the year", "soon", "in the morning", "in the evening", "next spring"],
        "join": ["In addition,", "At the same time,", "As the mayor's office noted,", "According to experts,", "Recall that",
                 "As the press service reports,", "Besides,", "Meanwhile,", "Also,", "In particular,", "However,"],
        "tail": ["the issue has been discussed for several months", "the decision was taken by a majority vote",
                 "the works are funded from the city budget", "residents shared their wishes",
                 "the relevant department will oversee the work", "the works cost several million hryvnias",
                 "the results will be published on the website", "the first changes will be seen in autumn",
                 "this will save money", "the project runs for three years"],
        "vsubj": ["Volunteers", "Caring residents", "Community activists", "A volunteer group", "A charity foundation",
                  "Our team", "Neighbours from the residents' association", "Student volunteers", "Local business owners and volunteers"],
        "vverb": ["are raising money for", "started a fundraiser for", "bought and handed over", "delivered",
                  "set up", "opened a distribution point handing out", "help with", "sew and hand over"],
        "vobj": ["drones for the defenders", "generators for shelters", "food kits for displaced people",
                 "medicines for elderly people", "camouflage nets", "trench candles", "warm clothes for evacuees",
                 "hot meals for displaced people", "a car for a unit", "first-aid kits for soldiers"],
        "vcall": ["Join the fundraiser!", "Every hryvnia counts.", "Write to us in our Telegram channel.",
                  "We need volunteers with a car.", "Bring things to the collection point.", "Thanks to everyone who helps!"],
        "first": ["Olena", "Iryna", "Oksana", "Nataliia", "Tetiana", "Andrii", "Oleksandr", "Serhii", "Dmytro", "Viktor", "Yuliia", "Maksym"],
        "syll": ["Kova", "len", "bon", "dar", "mel", "shev", "tkach", "hon", "pet", "rushch", "sav", "lys", "mor", "hryts", "dub"],
        "suffix": ["enko", "chuk", "uk", "ych", "skyi", "ets", "ak"],
    },
}
SCRIPT = (
    "window.dataLayer=window.dataLayer||[];function gtag(){dataLayer.push(arguments);}gtag('js',new Date());"
    "gtag('config','G-BENCH000');(function(w,d,s){var f=d.getElementsByTagName(s)[0],j=d.createElement(s);"
    "j.async=true;j.src='/static/ads.js?v=3';f.parentNode.insertBefore(j,f);})(window,document,'script');"
) * 6
STYLE = ".hdr{display:flex;justify-content:space-between;padding:8px 16px}.menu li{display:inline-block;margin:0 6px}" * 14


@dataclass(frozen=True)
class Site:
    """A generated site: its folder, its article and listing paths (URL paths)."""

    root: Path
    articles: list[str]
    listings: list[str]

    @property
    def pages(self) -> int:
        return len(self.articles) + len(self.listings)


@dataclass(frozen=True)
class _Article:
    number: int
    lang: str
    section: int
    day: int
    volunteer: bool
    title: str
    path: str


def _language(rng: random.Random) -> str:
    roll = rng.random()
    for lang, share in LANG_SHARE:
        if roll < share:
            return lang
        roll -= share
    return "uk"


def _name(rng: random.Random, words: dict) -> str:
    surname = "".join(rng.choice(words["syll"]) for _ in range(rng.randint(1, 2))) + rng.choice(words["suffix"])
    return f"{rng.choice(words['first'])} {surname[:1].upper()}{surname[1:]}"


def _sentence(rng: random.Random, words: dict, names: list[str]) -> str:
    parts = []
    if rng.random() < 0.35:
        parts.append(rng.choice(words["join"]))
    subject = rng.choice(names) if rng.random() < 0.15 else rng.choice(words["subj"])
    parts += [subject, rng.choice(words["place"]) if rng.random() < 0.5 else "", rng.choice(words["time"]), rng.choice(words["verb"]), rng.choice(words["obj"])]
    sentence = " ".join(p for p in parts if p)
    if rng.random() < 0.5:
        sentence += ", " + ("і " if words is WORDS["uk"] else "и " if words is WORDS["ru"] else "and ") + rng.choice(words["tail"])
    return sentence[0].upper() + sentence[1:] + "."


def _volunteer_sentence(rng: random.Random, words: dict) -> str:
    if rng.random() < 0.3:
        return rng.choice(words["vcall"])
    return f"{rng.choice(words['vsubj'])} {rng.choice(words['place'])} {rng.choice(words['vverb'])} {rng.choice(words['vobj'])}."


def _article(number: int, articles: int) -> _Article:
    rng = random.Random(number * 7919 + 17)
    lang = _language(rng)
    volunteer = rng.random() < VOLUNTEER_SHARE
    section = 2 if volunteer else rng.choice([i for i in range(len(SECTIONS)) if i != 2])
    day = number * DAYS // max(articles, 1)
    words = WORDS[lang]
    if volunteer:
        title = _volunteer_sentence(rng, words).rstrip(".!")
    else:
        title = f"{rng.choice(words['subj'])} {rng.choice(words['place'])} {rng.choice(words['verb'])} {rng.choice(words['obj'])}"
    title = title[0].upper() + title[1:]
    date = START + dt.timedelta(days=day)
    path = f"/{SECTIONS[section][0]}/{date:%Y/%m}/{number}-{lang}-{SECTIONS[section][0]}.html"
    return _Article(number, lang, section, day, volunteer, title, path)


def _esc(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")


def _links(items: list[_Article]) -> str:
    return "".join(f'<li><a href="{a.path}">{_esc(a.title)}</a></li>' for a in items)


class _Furniture:
    """The parts every page of one language shares."""

    def __init__(self, lang: str, months: list[dt.date]):
        ui = UI[lang]
        self.lang = lang
        self.ui = ui
        prefix = "" if lang == "uk" else f"/{lang}"
        menu = "".join(
            f'<li class="menu-item"><a href="/section/{slug}/">{_esc(names[("uk", "ru", "en").index(lang)])}</a>'
            f'<ul class="sub"><li><a href="/section/{slug}/page/2/">{ui["archive"]}</a></li></ul></li>'
            for slug, *names in SECTIONS
        )
        self.header = (
            f'<div class="topbar"><span class="date">{ui["weather"]}</span><span class="currency">USD 36.9 EUR 40.1</span>'
            f'<a href="/" hreflang="uk">UA</a> <a href="/ru/" hreflang="ru">RU</a> <a href="/en/" hreflang="en">EN</a>'
            '<a class="social" href="https://www.facebook.com/vistipridniprovia">Facebook</a>'
            '<a class="social" href="https://t.me/vistipridniprovia">Telegram</a>'
            '<a class="social" href="https://www.youtube.com/@vistipridniprovia">YouTube</a>'
            '<a class="social" href="https://www.instagram.com/vistipridniprovia/">Instagram</a>'
            f'<form action="/search/" method="get"><input name="q" placeholder="{ui["search"]}"></form></div>'
            f'<header class="hdr"><a class="logo" href="{prefix or "/"}">{_esc(ui["site"])}</a>'
            f'<nav><ul class="menu"><li><a href="/">{ui["home"]}</a></li><li><a href="/news/">{ui["news"]}</a></li>{menu}</ul></nav></header>'
        )
        archive = "".join(f'<li><a href="/archive/{m:%Y/%m}/">{ui["months"][m.month - 1]} {m.year}</a></li>' for m in months)
        sections = "".join(f'<li><a href="/section/{slug}/">{_esc(names[("uk", "ru", "en").index(lang)])}</a></li>' for slug, *names in SECTIONS)
        self.footer = (
            f'<footer><div class="cols"><ul class="sections">{sections}</ul>'
            f'<ul class="service"><li><a href="/about/">{ui["about"]}</a></li><li><a href="/contacts/">{ui["contacts"]}</a></li>'
            f'<li><a href="/advertising/">{ui["ads"]}</a></li><li><a href="/privacy/">{ui["privacy"]}</a></li>'
            f'<li><a href="/rules/">{ui["rules"]}</a></li><li><a href="/authors/">{ui["authors"]}</a></li></ul>'
            f'<div class="archive"><h4>{ui["archive"]}</h4><ul>{archive}</ul></div></div>'
            f'<p class="subscribe"><a href="https://t.me/vistipridniprovia">{ui["subscribe"]}</a></p>'
            f'<p class="copy">© 2015-2023 {_esc(ui["site"])}. {ui["rights"]}</p></footer>'
        )

    def page(self, title: str, body: str, head: str = "", canonical: str = "") -> str:
        return (
            f'<!DOCTYPE html><html lang="{self.lang}"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1"><title>{_esc(title)} | {_esc(self.ui["site"])}</title>'
            f'<link rel="canonical" href="{canonical}"><link rel="stylesheet" href="/static/main.css?v=12">'
            f'<link rel="icon" href="/static/favicon.ico">{head}<style>{STYLE}</style><script>{SCRIPT}</script></head>'
            f'<body>{self.header}<div class="ticker">{{ticker}}</div>{body}{self.footer}'
            '<script src="/static/app.js?v=12" defer></script></body></html>'
        )


def _write(root: Path, path: str, html: str) -> None:
    target = root / (path.lstrip("/") + "index.html" if path.endswith("/") else path.lstrip("/"))
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(html, encoding="utf-8")


def _pagination(base: str, page: int, pages: int, ui: dict) -> str:
    """Page links as news CMSs print them: first, previous, a window, the tens and
    hundreds, next, last."""
    numbers = {1, pages, *range(max(1, page - 4), min(pages, page + 4) + 1)}
    numbers |= {n for n in range(10, pages + 1, 10) if abs(n - page) <= 50} | set(range(100, pages + 1, 100))
    href = lambda n: base if n == 1 else f"{base}page/{n}/"  # noqa: E731
    links = [f'<a href="{href(1)}">{ui["first"]}</a>']
    if page > 1:
        links.append(f'<a rel="prev" href="{href(page - 1)}">{ui["prev"]}</a>')
    links += [f'<a href="{href(n)}">{n}</a>' if n != page else f"<span>{n}</span>" for n in sorted(numbers)]
    if page < pages:
        links.append(f'<a rel="next" href="{href(page + 1)}">{ui["next"]}</a>')
    links.append(f'<a href="{href(pages)}">{ui["last"]}</a>')
    return f'<nav class="pagination">{"".join(links)}</nav>'


def generate(root: Path, articles: int) -> Site:
    """Write the site of `articles` articles under `root`."""
    every = [_article(n, articles) for n in range(articles)]
    months = sorted({dt.date(d.year, d.month, 1) for d in (START + dt.timedelta(days=a.day) for a in every)})
    furniture = {lang: _Furniture(lang, months) for lang in UI}
    ticker = {lang: "".join(f'<a href="{a.path}">{_esc(a.title)}</a>' for a in every[-8:]) for lang in UI}
    popular = every[:: max(1, articles // 10)][:10]
    listings: list[str] = []

    def listing(path: str, title: str, items: list[_Article], lang: str = "uk", extra: str = "") -> None:
        f = furniture[lang]
        teasers = "".join(
            f'<article class="teaser"><a href="{a.path}"><img src="/img/{a.number}.jpg" alt=""></a>'
            f'<h3><a href="{a.path}">{_esc(a.title)}</a></h3><time>{START + dt.timedelta(days=a.day)}</time></article>'
            for a in items
        )
        body = f'<main><h1>{_esc(title)}</h1><div class="list">{teasers}</div>{extra}</main><aside><h4>{f.ui["popular"]}</h4><ul>{_links(popular)}</ul></aside>'
        _write(root, path, f.page(title, body).replace("{ticker}", ticker[lang]))
        listings.append(path)

    def paginated(base: str, title: str, items: list[_Article], lang: str = "uk") -> None:
        pages = max(1, -(-len(items) // PER_PAGE))
        for page in range(1, pages + 1):
            chunk = items[(page - 1) * PER_PAGE : page * PER_PAGE]
            pager = _pagination(base, page, pages, furniture[lang].ui)
            listing(base if page == 1 else f"{base}page/{page}/", f"{title} — {furniture[lang].ui['page']} {page}", chunk, lang, pager)

    newest = every[::-1]
    listing("/", UI["uk"]["site"], newest[:PER_PAGE])
    for lang in ("ru", "en"):
        listing(f"/{lang}/", UI[lang]["site"], [a for a in newest if a.lang == lang][:PER_PAGE], lang)
    paginated("/news/", UI["uk"]["news"], newest)
    for index, (slug, name, *_) in enumerate(SECTIONS):
        paginated(f"/section/{slug}/", name, [a for a in newest if a.section == index])
    by_day: dict[int, list[_Article]] = {}
    for a in every:
        by_day.setdefault(a.day, []).append(a)
    for month in months:
        days = [d for d in sorted(by_day) if (START + dt.timedelta(days=d)).replace(day=1) == month]
        calendar = "".join(f'<a href="/archive/{START + dt.timedelta(days=d):%Y/%m/%d}/">{(START + dt.timedelta(days=d)).day}</a>' for d in days)
        listing(f"/archive/{month:%Y/%m}/", f"{UI['uk']['archive']} {month:%m.%Y}", by_day[days[0]][:PER_PAGE], extra=f'<div class="calendar">{calendar}</div>')
        for d in days:
            listing(f"/archive/{START + dt.timedelta(days=d):%Y/%m/%d}/", f"{UI['uk']['archive']} {START + dt.timedelta(days=d)}", by_day[d])
    authors = [_name(random.Random(9000 + i), WORDS["uk"]) for i in range(24)]
    for i, author in enumerate(authors):
        listing(f"/authors/a{i}/", author, every[i::len(authors)][-PER_PAGE:])
    listing("/authors/", UI["uk"]["authors"], newest[:PER_PAGE], extra="".join(f'<a href="/authors/a{i}/">{_esc(a)}</a>' for i, a in enumerate(authors)))
    for slug in ("about", "contacts", "advertising", "privacy", "rules"):
        listing(f"/{slug}/", slug, [])
    tags = [f"tag{i}" for i in range(30)]
    for i, tag in enumerate(tags):
        listing(f"/tag/{tag}/", tag, every[i :: len(tags)][-PER_PAGE:])

    for a in every:
        _write(root, a.path, _article_page(a, every, furniture[a.lang], ticker[a.lang], popular, authors, tags))
    (root / "robots.txt").write_text("User-agent: *\nDisallow: /search/\n", encoding="utf-8")
    return Site(root, [a.path for a in every], listings)


def _article_page(a: _Article, every: list[_Article], f: _Furniture, ticker: str, popular: list[_Article], authors: list[str], tags: list[str]) -> str:
    rng = random.Random(a.number * 104729 + 3)
    words = WORDS[a.lang]
    ui = f.ui
    date = START + dt.timedelta(days=a.day)
    names = [_name(rng, words) for _ in range(rng.randint(2, 4))]
    author = rng.randrange(len(authors))
    nearby = every[max(0, a.number - 15) : a.number]
    related = [every[rng.randrange(len(every))] for _ in range(8)]
    inline = [every[rng.randrange(len(every))] for _ in range(3)]
    section_slug, *section_names = SECTIONS[a.section]
    section_name = section_names[("uk", "ru", "en").index(a.lang)]
    handle = f"dopomoga_{a.number % 97}"
    ld = json.dumps(
        {"@context": "https://schema.org", "@type": "NewsArticle", "headline": a.title, "datePublished": f"{date}T09:30:00+02:00",
         "author": {"@type": "Person", "name": authors[author]}, "publisher": {"@type": "Organization", "name": ui["site"]}},
        ensure_ascii=False,
    )
    head = (
        f'<meta name="description" content="{_esc(a.title)}"><meta property="og:title" content="{_esc(a.title)}">'
        f'<meta property="og:type" content="article"><meta property="article:published_time" content="{date}T09:30:00+02:00">'
        f'<script type="application/ld+json">{ld}</script>'
    )
    share = "".join(
        f'<a class="share" href="{u}">{n}</a>'
        for n, u in (("Facebook", "https://www.facebook.com/sharer/sharer.php?u=" + a.path), ("Telegram", "https://t.me/share/url?url=" + a.path),
                     ("Viber", "viber://forward?text=" + a.path), ("X", "https://twitter.com/intent/tweet?url=" + a.path))
    )
    tag_links = "".join(f'<a href="/tag/{t}/">{t}</a>' for t in rng.sample(tags, 6))
    aside = (
        f'<aside><section><h4>{ui["popular"]}</h4><ul>{_links(popular)}</ul></section>'
        f'<section><h4>{ui["latest"]}</h4><ul>{_links(nearby[::-1])}</ul></section>'
        '<div class="banner"><a href="/advertising/"><img src="/img/banner.jpg" alt="ad"></a></div></aside>'
    )
    tail = (
        f'<div class="tags">{ui["tags"]}: {tag_links}</div><div class="share-bar">{ui["share"]}: {share}</div></article>'
        f'<section class="related"><h4>{ui["related"]}</h4><ul>{_links(related)}</ul></section>'
        f'<section class="comments"><h4>{ui["comments"]}</h4><form method="post" action="/comments/"><textarea name="c"></textarea>'
        f'<button>{ui["send"]}</button></form></section></main>{aside}'
    )
    top = (
        f'<main><article><nav class="breadcrumbs"><a href="/">{ui["home"]}</a> / <a href="/section/{section_slug}/">{_esc(section_name)}</a></nav>'
        f'<h1>{_esc(a.title)}</h1><div class="meta"><a href="/authors/a{author}/">{_esc(authors[author])}</a>'
        f'<time datetime="{date}T09:30:00+02:00">{date:%d.%m.%Y}</time> <span>{rng.randint(100, 9000)} {ui["views"]}</span></div>'
        f'<figure><img src="/img/{a.number}.jpg" alt=""><figcaption>{_esc(names[0])}</figcaption></figure><div class="content">'
    )
    shell = f.page(a.title, top + "{text}" + tail, head + "{state}", a.path).replace("{ticker}", ticker)
    paragraphs: list[str] = []
    size = 0
    number = 0
    while size < TEXT_CHARS:
        sentences = []
        for _ in range(rng.randint(3, 6)):
            volunteer = a.volunteer and rng.random() < 0.5
            sentences.append(_volunteer_sentence(rng, words) if volunteer else _sentence(rng, words, names))
        text = " ".join(sentences)
        size += len(text)
        text = _esc(text)
        if number in (1, 4) and inline:
            other = inline.pop()
            text += f' <a href="{other.path}">{_esc(other.title)}</a>.'
        if number == 3:
            text = f'<p class="read-also">{ui["read_also"]}: <a href="{related[0].path}">{_esc(related[0].title)}</a></p><p>{text}'
        if a.volunteer and number == 2:
            text += (
                f' <a href="https://t.me/{handle}">t.me/{handle}</a>, '
                f'<a href="https://send.monobank.ua/jar/{a.number:06d}Bench">send.monobank.ua/jar/{a.number:06d}Bench</a>.'
            )
        paragraphs.append(f"<p>{text}</p>")
        number += 1
    page = shell.replace("{text}", "".join(paragraphs) + "</div>")
    # The rest of the 52 KB is what modern CMSs inline: the page's state as JSON for the
    # front-end (the teasers of the sidebars again, counters, ad slots).
    state, teasers = [], nearby + related + popular
    budget = PAGE_BYTES - len(page.encode("utf-8")) - 60
    while budget > 0 and teasers:
        t = teasers[len(state) % len(teasers)]
        entry = json.dumps({"id": t.number, "title": t.title, "url": t.path, "views": rng.randint(100, 9000), "slot": f"ad-{len(state) % 7}"}, ensure_ascii=False)
        state.append(entry)
        budget -= len(entry.encode("utf-8")) + 1
    return page.replace("{state}", "<script>window.__STATE__={\"teasers\":[" + ",".join(state) + "]}</script>")
