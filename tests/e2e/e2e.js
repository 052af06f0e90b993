/*
 * The tutorial application in a real browser: playwright-core driving
 * Debian's chromium headless (no browser download), at a desktop's width
 * and at a phone's 390 px, against the real server that
 * tests/integration/test_e2e.c starts on a fresh SQLite file.
 *
 *   E2E_BASE=http://127.0.0.1:PORT E2E_DB=/path/app.db E2E_OUT=build/e2e node tests/e2e/e2e.js
 *
 * Each step prints "ok <name>" or "FAIL <name>: why" (test_e2e.c counts
 * them); every page visited is saved as E2E_OUT/<width>-<nn>-<page>.png.
 * On every page: no horizontal scrolling, every visible input has a label
 * tied to it (for/id) that does not touch it, and no SQL or internal code
 * name (PH_E...) is shown.  The database is read with the sqlite3 shell.
 */
"use strict";
const { chromium } = require("playwright-core");
const { execFileSync } = require("child_process");
const fs = require("fs");
const path = require("path");

const BASE = process.env.E2E_BASE;
const DB = process.env.E2E_DB;
const OUT = process.env.E2E_OUT || "build/e2e";
const CHROMIUM = process.env.E2E_CHROMIUM || "/usr/bin/chromium";
const VIEWPORTS = [
    { name: "desktop", width: 1280, height: 800 },
    { name: "phone", width: 390, height: 844 },
];

let passed = 0;
let failed = 0;

/* One SQL statement on the server's database, through the sqlite3 shell
 * (read-only: the server owns the file); its output, trimmed. */
function sql(query) {
    return execFileSync("sqlite3", ["-readonly", DB, query], { encoding: "utf8" }).trim();
}
const q = (s) => "'" + s.replace(/'/g, "''") + "'";

function check(cond, what) {
    if (!cond) throw new Error(what);
}

/* What every page must be, whatever it shows. */
async function checkPage(page, vp) {
    const text = await page.locator("body").innerText();
    check(!/PH_E[A-Z]/.test(text), "an internal code name on " + page.url() + ": " + text);
    check(!/\b(INSERT INTO|SELECT .* FROM|UNIQUE constraint|sqlite|SQLITE_)/i.test(text),
        "SQL on " + page.url() + ": " + text);
    const html = await page.content();
    check(html.includes('name="viewport"'), "no viewport meta on " + page.url());
    const overflow = await page.evaluate(() =>
        document.documentElement.scrollWidth - document.documentElement.clientWidth);
    check(overflow <= 0, page.url() + " scrolls sideways by " + overflow + " px at " +
        vp.width + " px");
    /* each visible field has its label (for = its id), with space between */
    const fields = await page.evaluate(() => {
        const out = [];
        for (const el of document.querySelectorAll("input, textarea, select")) {
            if (el.type === "hidden" || el.type === "submit" || el.offsetParent === null)
                continue;
            const label = el.id && document.querySelector('label[for="' + el.id + '"]');
            const a = el.getBoundingClientRect();
            const b = label ? label.getBoundingClientRect() : null;
            out.push({
                id: el.id, label: !!label,
                gap: b ? Math.max(a.top - b.bottom, b.top - a.bottom, a.left - b.right,
                    b.left - a.right) : null,
            });
        }
        return out;
    });
    for (const f of fields) {
        check(f.label, "input #" + f.id + " on " + page.url() + " has no label for it");
        check(f.gap >= 2, "the label of #" + f.id + " on " + page.url() + " touches it (" +
            f.gap + " px)");
    }
}

let shot = 0;
async function screenshot(page, vp, name) {
    shot++;
    const file = path.join(OUT, vp.name + "-" + String(shot).padStart(2, "0") + "-" + name + ".png");
    await page.screenshot({ path: file, fullPage: true });
}

/* A page's flash messages. */
async function flashes(page) {
    return page.locator(".flash").allInnerTexts();
}

async function flow(browser, vp) {
    const context = await browser.newContext({ viewport: { width: vp.width, height: vp.height } });
    const page = await context.newPage();
    page.setDefaultTimeout(10000);
    const who = "e2e-" + vp.name;
    const steps = [];
    const step = (name, fn) => steps.push([name, fn]);
    let handlerUrl = "", petUrl = "", petId = 0;

    step("register_a_user", async () => {
        await page.goto(BASE + "/register");
        await checkPage(page, vp);
        await screenshot(page, vp, "register");
        /* a password too short: the error under its field, nothing stored */
        await page.fill("#username", who);
        await page.fill("#email", who + "@example.com");
        await page.fill("#password", "short");
        await page.click("#submit");
        const err = page.locator("#password-errors");
        await err.waitFor();
        check((await err.innerText()).includes("between 8 and"), "password error: " + await err.innerText());
        const box = await page.locator("#password").boundingBox();
        const ebox = await err.boundingBox();
        check(ebox.y >= box.y + box.height, "the password error is not under its field");
        check(await page.inputValue("#username") === who, "the username was not kept");
        await checkPage(page, vp);
        await screenshot(page, vp, "register-error");
        check(sql("SELECT count(*) FROM user WHERE username = " + q(who)) === "0",
            "a refused registration was stored");
        await page.fill("#password", "correct horse battery");
        await page.click("#submit");
        await page.waitForLoadState();
        check((await page.locator("body").innerText()).includes("User registration successful"),
            "no success text after registering");
        await screenshot(page, vp, "registered");
        check(sql("SELECT substr(user_password, 1, 10) FROM user WHERE username = " + q(who)) ===
            "$argon2id$", "the stored password is not an Argon2id hash");
    });

    step("find_the_user_on_users", async () => {
        await page.goto(BASE + "/users");
        await checkPage(page, vp);
        const row = page.locator("table.users tr", { hasText: who });
        check(await row.count() === 1, "the user is not listed once on /users");
        check((await row.innerText()).includes(who + "@example.com"), "no email in the user's row");
        const text = await page.locator("body").innerText();
        check(!text.includes("argon2") && !text.includes("correct horse"), "/users shows a password");
        await screenshot(page, vp, "users");
    });

    step("keyboard_focus_is_visible", async () => {
        await page.goto(BASE + "/contact");
        await page.locator("#name").focus();
        await page.keyboard.press("Tab"); /* from the name to the email, as a keyboard user */
        const style = await page.evaluate(() => {
            const s = getComputedStyle(document.activeElement);
            return { id: document.activeElement.id, outline: s.outlineStyle, width: parseFloat(s.outlineWidth) };
        });
        check(style.id === "email", "Tab did not move to the email field: " + style.id);
        check(style.outline !== "none" && style.width >= 2, "no visible focus: " + JSON.stringify(style));
        await screenshot(page, vp, "contact-focus");
    });

    step("contact_bad_email_stores_nothing", async () => {
        const before = sql("SELECT count(*) FROM contact");
        await page.goto(BASE + "/contact");
        await checkPage(page, vp);
        await page.fill("#name", who);
        /* accepted by the browser's own check (type=email), refused by the server's */
        await page.fill("#email", "ann@example");
        await page.fill("#message", "Hello from " + vp.name);
        await page.click("#submit");
        const err = page.locator("#email-errors");
        await err.waitFor();
        check((await err.innerText()).includes("valid email"), "email error: " + await err.innerText());
        const box = await page.locator("#email").boundingBox();
        const ebox = await err.boundingBox();
        const next = await page.locator('label[for="message"]').boundingBox();
        check(ebox.y >= box.y + box.height && ebox.y + ebox.height <= next.y,
            "the email error is not between its field and the next one");
        check(await page.inputValue("#message") === "Hello from " + vp.name, "the message was not kept");
        await checkPage(page, vp);
        await screenshot(page, vp, "contact-error");
        check(sql("SELECT count(*) FROM contact") === before, "a refused message was stored");
    });

    step("contact_good_email_flashes_once", async () => {
        await page.fill("#email", who + "@example.com");
        await page.click("#submit");
        await page.waitForURL(BASE + "/contact");
        const f = await flashes(page);
        check(f.length === 1 && f[0] === "Thank you, your message has been sent.",
            "flash after sending: " + JSON.stringify(f));
        await checkPage(page, vp);
        await screenshot(page, vp, "contact-sent");
        check(sql("SELECT email || '|' || message FROM contact WHERE name = " + q(who)) ===
            who + "@example.com|Hello from " + vp.name, "the message is not stored as sent");
        await page.reload();
        check((await flashes(page)).length === 0, "the flash is shown again after a reload");
    });

    step("create_a_handler", async () => {
        await page.goto(BASE + "/handlers");
        await checkPage(page, vp);
        await screenshot(page, vp, "handlers");
        await page.fill("#handler_name", "Ann " + vp.name);
        await page.click("#submit");
        await page.waitForURL(/\/handlers\/\d+$/);
        handlerUrl = page.url();
        check(JSON.stringify(await flashes(page)) === JSON.stringify(["Handler Ann " + vp.name + " added."]),
            "flash after adding a handler: " + JSON.stringify(await flashes(page)));
        check((await page.locator("h1").innerText()) === "Ann " + vp.name, "not the handler's page");
        await checkPage(page, vp);
        await screenshot(page, vp, "handler");
    });

    step("add_a_pet_with_tags", async () => {
        /* a tag too long: beside the field, nothing stored */
        await page.fill("#pet_name", "Rex");
        await page.fill("#pet_category", "dog");
        await page.fill("#tags", "senior, " + "x".repeat(51));
        await page.click("#submit");
        await page.locator("#tags-errors").waitFor();
        check((await page.locator("#tags-errors").innerText()).includes("at most 50 characters"),
            "tag error: " + await page.locator("#tags-errors").innerText());
        check(await page.inputValue("#pet_name") === "Rex", "the pet's name was not kept");
        await checkPage(page, vp);
        await screenshot(page, vp, "pet-tag-error");
        check(sql("SELECT count(*) FROM petcategory WHERE pet_name = 'Rex' AND handler_id = " +
            handlerUrl.split("/").pop()) === "0", "a refused pet was stored");
        /* a repeated tag is one tag */
        await page.fill("#tags", "senior, needs meds, senior");
        await page.click("#submit");
        await page.waitForURL(/\/pets\/\d+$/);
        petUrl = page.url();
        petId = Number(petUrl.split("/").pop());
        check(JSON.stringify(await flashes(page)) === '["Pet Rex added."]',
            "flash after adding a pet: " + JSON.stringify(await flashes(page)));
        const tags = page.locator("ul.tags li");
        check(JSON.stringify(await tags.allInnerTexts()) === '["senior","needs meds"]',
            "tags: " + JSON.stringify(await tags.allInnerTexts()));
        const a = await tags.nth(0).boundingBox();
        const b = await tags.nth(1).boundingBox();
        check(b.x >= a.x + a.width + 2 || b.y >= a.y + a.height + 2, "the tags touch each other");
        await checkPage(page, vp);
        await screenshot(page, vp, "pet");
    });

    step("comment_lands_back_on_the_pet", async () => {
        await page.fill("#comment_content", "Good boy, " + vp.name);
        await page.click("#submit");
        await page.waitForURL(petUrl);
        check(JSON.stringify(await flashes(page)) === '["Comment added."]',
            "flash after commenting: " + JSON.stringify(await flashes(page)));
        check((await page.locator("ul.comments").innerText()).includes("Good boy, " + vp.name),
            "the comment is not on the pet's page");
        await checkPage(page, vp);
        await screenshot(page, vp, "pet-commented");
        check(sql("SELECT count(*) FROM petcomment WHERE pet_id = " + petId) === "1",
            "the comment is not stored once");
    });

    step("delete_the_pet", async () => {
        await page.click("text=Delete this pet");
        await page.waitForURL(handlerUrl);
        check(JSON.stringify(await flashes(page)) === '["Pet Rex deleted."]',
            "flash after deleting: " + JSON.stringify(await flashes(page)));
        check((await page.locator("ul.pets").innerText()).includes("No pets yet."),
            "the pet is still listed");
        await checkPage(page, vp);
        await screenshot(page, vp, "pet-deleted");
        check(sql("SELECT count(*) FROM petcategory WHERE pet_id = " + petId) === "0" &&
            sql("SELECT count(*) FROM petcomment WHERE pet_id = " + petId) === "0" &&
            sql("SELECT count(*) FROM pet_tag WHERE pet_id = " + petId) === "0",
            "the pet, its comments or its tag links are still stored");
        const res = await page.goto(petUrl);
        check(res.status() === 404, "the deleted pet's page answers " + res.status());
        await checkPage(page, vp);
        await screenshot(page, vp, "not-found");
    });

    step("delete_a_handler_with_pets_asks_first", async () => {
        await page.goto(handlerUrl);
        await page.fill("#pet_name", "Tom");
        await page.fill("#pet_category", "cat");
        await page.click("#submit");
        await page.waitForURL(/\/pets\/\d+$/);
        await page.goto(handlerUrl);
        await page.click("text=Delete this handler");
        await page.locator("#confirm").waitFor();
        check((await page.locator("main").innerText()).includes("Tom"), "the confirmation does not name the pet");
        await checkPage(page, vp);
        await screenshot(page, vp, "handler-confirm");
        const id = handlerUrl.split("/").pop();
        check(sql("SELECT count(*) FROM pethandler WHERE handler_id = " + id) === "1",
            "the handler was deleted before the confirmation");
        await page.click("#confirm");
        await page.waitForURL(BASE + "/handlers");
        check(JSON.stringify(await flashes(page)) === JSON.stringify(["Handler Ann " + vp.name + " deleted."]),
            "flash after deleting the handler: " + JSON.stringify(await flashes(page)));
        await screenshot(page, vp, "handler-deleted");
        check(sql("SELECT count(*) FROM pethandler WHERE handler_id = " + id) === "0" &&
            sql("SELECT count(*) FROM petcategory WHERE handler_id = " + id) === "0",
            "the handler or its pets are still stored");
    });

    for (const [name, fn] of steps) {
        const full = name + " (" + vp.name + ", " + vp.width + " px)";
        try {
            await fn();
            passed++;
            console.log("ok   " + full);
        } catch (e) {
            failed++;
            console.log("FAIL " + full + ": " + (e && e.message ? e.message.split("\n")[0] : e));
            await screenshot(page, vp, "FAILED-" + name).catch(() => {});
        }
    }
    await context.close();
}

async function main() {
    if (!BASE || !DB) {
        console.log("FAIL e2e.js: E2E_BASE and E2E_DB must be set");
        process.exit(1);
    }
    fs.mkdirSync(OUT, { recursive: true });
    for (const f of fs.readdirSync(OUT)) /* this run's screenshots only */
        if (f.endsWith(".png"))
            fs.unlinkSync(path.join(OUT, f));
    const browser = await chromium.launch({
        executablePath: CHROMIUM,
        args: ["--no-sandbox", "--disable-dev-shm-usage"],
    });
    try {
        for (const vp of VIEWPORTS) {
            shot = 0;
            await flow(browser, vp);
        }
    } finally {
        await browser.close();
    }
    console.log(passed + " passed, " + failed + " failed");
    process.exit(failed ? 1 : 0);
}

main().catch((e) => {
    console.log("FAIL e2e.js: " + (e && e.stack ? e.stack : e));
    process.exit(1);
});
