#!/usr/bin/env python3
"""The official OpenAI Python library against the gateway, unchanged: test_openai_client.

Starts FIXTURE (gateway_fixture: prints its base URL and an API key, stops when its stdin closes),
then, through openai.OpenAI(base_url=..., api_key=...): models.list(); completions.create plain and
streamed; chat.completions.create plain, streamed, and streamed with
stream_options={"include_usage": True}, checking content, finish_reason and usage; and the typed
errors: another model is NotFoundError, a wrong key AuthenticationError, a bad field BadRequestError.
Exits non-zero, naming the check, on any failure. Usage: openai_client_check.py FIXTURE
"""
import subprocess
import sys
import threading

import openai

MODEL = "tessera-demo"
# The fixture's next-token table counts: after a digit d comes d + 1, after anything else "0".
# A chat prompt ends with the template's "<|assistant|>\n", so a chat reply starts "0123…".


class CheckFailed(Exception):
    pass


def expect(condition, what):
    if not condition:
        raise CheckFailed(what)


def start_fixture(path):
    fixture = subprocess.Popen([path], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    lines = []
    reader = threading.Thread(target=lambda: lines.extend([fixture.stdout.readline(), fixture.stdout.readline()]))
    reader.start()
    reader.join(timeout=30)
    if len(lines) < 2 or not lines[0].startswith("http"):
        fixture.kill()
        raise CheckFailed(f"{path} did not print its URL and key within 30 s (got {lines!r})")
    return fixture, lines[0].strip(), lines[1].strip()


def check_models(client):
    models = client.models.list()
    ids = [model.id for model in models.data]
    expect(ids == [MODEL], f"models.list() returned {ids}, expected [{MODEL!r}]")


def check_completions(client):
    reply = client.completions.create(model=MODEL, prompt="count: 3", max_tokens=5, temperature=0)
    expect(reply.object == "text_completion", f"completions object {reply.object!r}")
    expect(reply.choices[0].text == "45678", f"completions text {reply.choices[0].text!r}, expected '45678'")
    expect(reply.choices[0].finish_reason == "length", f"completions finish_reason {reply.choices[0].finish_reason!r}")
    expect((reply.usage.prompt_tokens, reply.usage.completion_tokens, reply.usage.total_tokens) == (8, 5, 13),
           f"completions usage {reply.usage}")

    text, finish, usage = "", None, None
    for chunk in client.completions.create(model=MODEL, prompt="5", max_tokens=3, temperature=0, stream=True):
        text += chunk.choices[0].text
        finish = chunk.choices[0].finish_reason or finish
        usage = chunk.usage or usage
    expect(text == "678", f"streamed completions text {text!r}, expected '678'")
    expect(finish == "length", f"streamed completions finish_reason {finish!r}")
    expect(usage is not None and usage.total_tokens == 4, f"streamed completions usage {usage}")


def chat_messages():
    return [{"role": "system", "content": "You count."}, {"role": "user", "content": "Go"}]


def prompt_tokens():
    return len("<|system|>\nYou count.\n<|user|>\nGo\n<|assistant|>\n")


def check_chat(client):
    reply = client.chat.completions.create(model=MODEL, messages=chat_messages(), max_tokens=6, temperature=0,
                                           user="u-1", presence_penalty=0, frequency_penalty=0)
    expect(reply.object == "chat.completion", f"chat object {reply.object!r}")
    expect(reply.id.startswith("chatcmpl-"), f"chat id {reply.id!r}")
    choice = reply.choices[0]
    expect(choice.message.role == "assistant", f"chat role {choice.message.role!r}")
    expect(choice.message.content == "012345", f"chat content {choice.message.content!r}, expected '012345'")
    expect(choice.finish_reason == "length", f"chat finish_reason {choice.finish_reason!r}")
    expect((reply.usage.prompt_tokens, reply.usage.completion_tokens, reply.usage.total_tokens)
           == (prompt_tokens(), 6, prompt_tokens() + 6), f"chat usage {reply.usage}")

    stop = client.chat.completions.create(model=MODEL, messages=chat_messages(), max_completion_tokens=20,
                                          temperature=0, stop=["4"])
    expect(stop.choices[0].message.content == "0123", f"chat with stop: content {stop.choices[0].message.content!r}")
    expect(stop.choices[0].finish_reason == "stop", f"chat with stop: finish_reason {stop.choices[0].finish_reason!r}")

    for include_usage in (False, True):
        options = {"stream_options": {"include_usage": True}} if include_usage else {}
        chunks = list(client.chat.completions.create(model=MODEL, messages=chat_messages(), max_tokens=4,
                                                     temperature=0, stream=True, **options))
        what = "streamed chat" + (" with include_usage" if include_usage else "")
        expect(len(chunks) >= 3, f"{what}: {len(chunks)} chunks")
        expect(all(chunk.object == "chat.completion.chunk" for chunk in chunks), f"{what}: chunk objects")
        expect(chunks[0].choices[0].delta.role == "assistant", f"{what}: first delta {chunks[0].choices[0].delta}")
        text = "".join(chunk.choices[0].delta.content or "" for chunk in chunks if chunk.choices)
        expect(text == "0123", f"{what}: content {text!r}, expected '0123'")
        finishes = [chunk.choices[0].finish_reason for chunk in chunks if chunk.choices and chunk.choices[0].finish_reason]
        expect(finishes == ["length"], f"{what}: finish reasons {finishes}")
        usage = [chunk.usage for chunk in chunks if chunk.usage]
        expect(usage and usage[-1].completion_tokens == 4 and usage[-1].prompt_tokens == prompt_tokens(),
               f"{what}: usage {usage}")
        if include_usage:
            expect(chunks[-1].choices == [] and chunks[-1].usage is not None,
                   f"{what}: the last chunk should hold the usage alone, got {chunks[-1]}")


def check_errors(client, url):
    expect_error(openai.NotFoundError, "another model",
                 lambda: client.chat.completions.create(model="gpt-4o", messages=chat_messages(), max_tokens=2))
    wrong = openai.OpenAI(base_url=url, api_key="tsk_" + "0" * 64, max_retries=0)
    expect_error(openai.AuthenticationError, "a wrong key", lambda: wrong.models.list())
    expect_error(openai.AuthenticationError, "a wrong key (chat)",
                 lambda: wrong.chat.completions.create(model=MODEL, messages=chat_messages(), max_tokens=2))
    expect_error(openai.BadRequestError, "a temperature of 5",
                 lambda: client.chat.completions.create(model=MODEL, messages=chat_messages(), temperature=5))
    expect_error(openai.BadRequestError, "tools",
                 lambda: client.chat.completions.create(
                     model=MODEL, messages=chat_messages(),
                     tools=[{"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}]))
    expect_error(openai.BadRequestError, "an image part",
                 lambda: client.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": [
                     {"type": "image_url", "image_url": {"url": "https://example.com/a.png"}}]}]))
    expect_error(openai.BadRequestError, "a completions max_tokens of 0",
                 lambda: client.completions.create(model=MODEL, prompt="x", max_tokens=0))


def expect_error(kind, what, call):
    try:
        call()
    except kind as error:
        expect(isinstance(error.body, dict) and error.body.get("message"), f"{what}: an error without a message: {error}")
        return
    except openai.APIError as error:
        raise CheckFailed(f"{what}: expected {kind.__name__}, got {type(error).__name__}: {error}")
    raise CheckFailed(f"{what}: expected {kind.__name__}, the request succeeded")


def main():
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    fixture, url, key = start_fixture(sys.argv[1])
    try:
        client = openai.OpenAI(base_url=url, api_key=key, max_retries=0, timeout=30)
        for check in (check_models, check_completions, check_chat):
            check(client)
            print(f"ok: {check.__name__}")
        check_errors(client, url)
        print("ok: check_errors")
    except CheckFailed as failure:
        print(f"openai_client_check: FAILED: {failure}", file=sys.stderr)
        return 1
    except openai.APIError as error:
        print(f"openai_client_check: FAILED: unexpected {type(error).__name__}: {error}", file=sys.stderr)
        return 1
    finally:
        fixture.stdin.close()
        try:
            fixture.wait(timeout=10)
        except subprocess.TimeoutExpired:
            fixture.kill()
    print(f"openai_client_check: all checks passed (openai {openai.__version__})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
